"""The for-you feed learns, through the gateway, which of its candidate sources a viewer likes."""

from __future__ import annotations

import secrets
from collections import Counter
from typing import Any

import aiohttp
import pytest

from tests.support.members import Member, sign_up

FEED = "/v1/feed/for-you"


@pytest.fixture
async def new_member(http: aiohttp.ClientSession) -> Any:
    async def make() -> Member:
        return await sign_up(http, "fy_")

    return make


async def _learn(fan: Any, target: str, rounds: int = 4) -> list[str]:
    """Read the feed `rounds` times, liking every work served from `target`; the liked ids."""
    liked: list[str] = []
    for _ in range(rounds):
        page = await fan.call("GET", FEED, 200, params={"limit": 10})
        for work in page["items"]:
            if work["source"] == target:
                await fan.call("PUT", f"/v1/works/{work['id']}/like", 204)
                liked.append(work["id"])
    return liked


async def _share(fan: Any, source: str, pages: int = 2) -> float:
    served = Counter()
    for _ in range(pages):  # each fresh read draws a new mix
        served.update(w["source"] for w in (await fan.call("GET", FEED, 200, params={"limit": 20}))["items"])
    return served[source] / max(sum(served.values()), 1)


async def test_likes_from_the_feed_shift_it_towards_their_source(new_member: Any) -> None:
    artists = [await new_member() for _ in range(3)]
    style = ["t" + secrets.token_hex(4) for _ in artists]
    for i in range(60):
        await artists[i % 3].publish(f"piece {i}", tags=[style[i % 3]])
    fresh_fan, trending_fan = await new_member(), await new_member()

    first = await fresh_fan.call("GET", FEED, 200, params={"limit": 20})
    assert len(first["items"]) == 20 and {w["source"] for w in first["items"]} <= {"trending", "fresh"}
    second = await fresh_fan.call("GET", FEED, 200, params={"limit": 20, "cursor": first["next_cursor"]})
    assert not {w["id"] for w in first["items"]} & {w["id"] for w in second["items"]}  # the same mix, continued

    liked_fresh = await _learn(fresh_fan, "fresh")
    liked_trending = await _learn(trending_fan, "trending")
    assert len(liked_fresh) >= 5 and len(liked_trending) >= 5
    # Five sources are live now (liked tags and artists, co-likers): without learning each would get
    # about a fifth of the slots; the source each fan liked gets most of them, and not the other's.
    fresh_share, trending_share = await _share(fresh_fan, "fresh"), await _share(trending_fan, "trending")
    assert fresh_share >= 0.4, fresh_share  # twice the fifth it would get without learning
    assert trending_share >= 0.4, trending_share
    assert await _share(fresh_fan, "trending") < fresh_share
    assert await _share(trending_fan, "fresh") < trending_share
    after = await fresh_fan.call("GET", FEED, 200, params={"limit": 100})
    assert not {w["id"] for w in after["items"]} & set(liked_fresh)  # never a work already liked
    assert len({s for w in after["items"] if (s := w["source"])}) >= 4  # the floor: every source still served


async def test_for_you_refuses_unknown_parameters(new_member: Any) -> None:
    fan = await new_member()
    await fan.call("GET", FEED, 422, params={"limit": 5, "sort": "new"})
    await fan.call("GET", FEED, 422, params={"limit": "0"})
    await fan.call("GET", FEED, 400, params={"cursor": "not-a-cursor"})
