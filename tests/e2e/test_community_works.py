"""Works, engagement, feeds, collections and insights through the gateway, with real assets."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from tests.support.members import Member, sign_up


@pytest.fixture
async def new_member(http: aiohttp.ClientSession) -> Any:
    async def make() -> Member:
        return await sign_up(http, "w_")

    return make


async def _ids(member: Member, path: str, **params: Any) -> list[str]:
    page = await member.call("GET", path, 200, params=params)
    return [w["id"] for w in page["items"]]


async def test_publish_read_edit_delete(new_member: Any) -> None:
    ada = await new_member()
    work = await ada.publish("Harbour at dusk", description="oil on board", tags=["Sea", "dusk"], origin="collab")
    assert work["author"]["username"] == ada.username
    assert (work["tags"], work["origin"], work["visibility"]) == (["sea", "dusk"], "collab", "public")
    assert await ada.call("GET", f"/v1/works/{work['id']}", 200) == {**work, "updated_at": work["updated_at"]}
    edited = await ada.call("PATCH", f"/v1/works/{work['id']}", 200, json={"title": "Harbour at night"})
    assert edited["title"] == "Harbour at night" and edited["description"] == "oil on board"
    await ada.call("DELETE", f"/v1/works/{work['id']}", 204)
    await ada.call("GET", f"/v1/works/{work['id']}", 404)


async def test_assets_must_exist_and_be_yours(new_member: Any) -> None:
    ada, bob = await new_member(), await new_member()
    theirs = await bob.upload()
    problem = await ada.call("POST", "/v1/works", 422, json={"title": "stolen", "asset_ids": [theirs]})
    assert problem["asset_ids"] == [theirs]
    await ada.call("POST", "/v1/works", 422, json={"title": "ghost", "asset_ids": ["01J0000000000000000000000A"]})
    await ada.call("POST", "/v1/works", 422, json={"title": "none", "asset_ids": []})


async def test_private_work_is_404_to_others_and_editing_others_is_403(new_member: Any) -> None:
    ada, bob = await new_member(), await new_member()
    private = await ada.publish("sketch", visibility="private")
    await ada.call("GET", f"/v1/works/{private['id']}", 200)
    for method in ("GET", "DELETE"):
        await bob.call(method, f"/v1/works/{private['id']}", 404)
    await bob.call("PUT", f"/v1/works/{private['id']}/like", 404)
    public = await ada.publish("finished")
    await bob.call("PATCH", f"/v1/works/{public['id']}", 403, json={"title": "mine now"})
    await bob.call("DELETE", f"/v1/works/{public['id']}", 403)
    assert private["id"] not in await _ids(bob, "/v1/works", author=ada.username)
    assert private["id"] in await _ids(ada, "/v1/works", author=ada.username)


async def test_likes_are_idempotent_and_comments_bounded(new_member: Any) -> None:
    ada, bob = await new_member(), await new_member()
    work = await ada.publish("likeable")
    for _ in range(2):
        await bob.call("PUT", f"/v1/works/{work['id']}/like", 204)
    seen = await bob.call("GET", f"/v1/works/{work['id']}", 200)
    assert (seen["like_count"], seen["liked_by_me"]) == (1, True)
    for _ in range(2):
        await bob.call("DELETE", f"/v1/works/{work['id']}/like", 204)
    assert (await bob.call("GET", f"/v1/works/{work['id']}", 200))["like_count"] == 0
    comment = await bob.call("POST", f"/v1/works/{work['id']}/comments", 201, json={"body": "  lovely light  "})
    assert comment["body"] == "lovely light"
    await bob.call("POST", f"/v1/works/{work['id']}/comments", 422, json={"body": "x" * 2001})
    await bob.call("POST", f"/v1/works/{work['id']}/comments", 422, json={"body": "   "})
    page = await ada.call("GET", f"/v1/works/{work['id']}/comments", 200)
    assert [c["id"] for c in page["items"]] == [comment["id"]]
    await bob.call("PUT", "/v1/works/01J0000000000000000000000A/like", 404)


async def test_idempotency_key_creates_once(new_member: Any) -> None:
    ada = await new_member()
    body = {"title": "once", "asset_ids": [await ada.upload()]}
    key = {**ada.headers, "Idempotency-Key": secrets.token_hex(8)}
    first = await ada.call("POST", "/v1/works", 201, json=body, headers=key)
    again = await ada.call("POST", "/v1/works", 201, json=body, headers=key)
    assert first["id"] == again["id"]
    assert await _ids(ada, "/v1/works", author=ada.username) == [first["id"]]


async def test_reports_by_three_users_hide_a_work_from_listings(new_member: Any) -> None:
    ada = await new_member()
    reporters = [await new_member() for _ in range(3)]
    tag = "t" + secrets.token_hex(5)
    work = await ada.publish("questionable", tags=[tag])
    await ada.call("POST", f"/v1/works/{work['id']}/reports", 422, json={"reason": "spam"})
    for member in reporters:
        assert await _ids(member, "/v1/works", tag=tag) == [work["id"]]
        for _ in range(2):  # a second report from the same user does not count twice
            await member.call("POST", f"/v1/works/{work['id']}/reports", 202, json={"reason": "spam"})
    assert await _ids(ada, "/v1/works", tag=tag) == []
    assert work["id"] not in await _ids(ada, "/v1/feed/trending", limit=100)
    await reporters[0].call("GET", f"/v1/works/{work['id']}", 200)  # still reachable by link


async def test_search_tag_origin_and_top_sort(new_member: Any) -> None:
    ada, bob = await new_member(), await new_member()
    word = "zq" + secrets.token_hex(4)
    tag = "t" + secrets.token_hex(5)
    a = await ada.publish(f"Lighthouse {word}", tags=[tag])
    b = await ada.publish("Meadow", description=f"the {word} meadow in spring", tags=[tag], origin="ai")
    await bob.call("PUT", f"/v1/works/{b['id']}/like", 204)
    assert set(await _ids(bob, "/v1/works", q=word)) == {a["id"], b["id"]}
    assert await _ids(bob, "/v1/works", q=f"lighthouse {word}") == [a["id"]]
    assert await _ids(bob, "/v1/works", tag=tag, origin="ai") == [b["id"]]
    assert await _ids(bob, "/v1/works", tag=tag, sort="top") == [b["id"], a["id"]]
    assert await _ids(bob, "/v1/works", tag=tag, sort="new") == [b["id"], a["id"]]
    await bob.call("GET", "/v1/works", 422, params={"sort": "random"})


async def test_feed_pages_newest_first_with_signed_cursors(new_member: Any) -> None:
    ada, bob, fan = await new_member(), await new_member(), await new_member()
    await fan.call("PUT", f"/v1/users/{ada.username}/follow", 204)
    await fan.call("PUT", f"/v1/users/{bob.username}/follow", 204)
    made = [await (ada if i % 2 else bob).publish(f"work {i}") for i in range(5)]
    await ada.publish("hidden", visibility="private")
    seen: list[str] = []
    cursor = None
    while True:
        page = await fan.call("GET", "/v1/feed", 200, params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        seen += [w["id"] for w in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [w["id"] for w in reversed(made)]
    tampered = cursor or (await fan.call("GET", "/v1/feed", 200, params={"limit": 1}))["next_cursor"]
    flipped = "B" if tampered[-2] == "A" else "A"  # a different character, whatever the cursor was
    await fan.call("GET", "/v1/feed", 400, params={"cursor": tampered[:-2] + flipped + tampered[-1]})
    await fan.call("GET", "/v1/feed/trending", 400, params={"cursor": tampered})  # another listing's cursor
    await fan.call("GET", "/v1/feed", 422, params={"limit": "0"})
    assert len((await fan.call("GET", "/v1/feed/trending", 200, params={"limit": 500}))["items"]) <= 100


async def test_trending_ranks_engagement_and_for_you_learns_tastes(new_member: Any) -> None:
    ada, fan = await new_member(), await new_member()
    likers = [await new_member() for _ in range(3)]
    tag = "t" + secrets.token_hex(5)
    quiet = await ada.publish("quiet", tags=[tag])
    loved = await ada.publish("loved", tags=[tag])
    for member in likers:
        await member.call("PUT", f"/v1/works/{quiet['id']}/like", 204)
    trending = await _ids(fan, "/v1/feed/trending", limit=100)
    assert trending.index(quiet["id"]) < trending.index(loved["id"])  # older but far more engagement
    # The fan likes one work of the tag: for-you then offers the other, never the liked one or own works.
    await fan.call("PUT", f"/v1/works/{loved['id']}/like", 204)
    own = await fan.publish("my own", tags=[tag])
    for_you = await _ids(fan, "/v1/feed/for-you", limit=100)
    assert quiet["id"] in for_you[:20]
    assert loved["id"] not in for_you and own["id"] not in for_you
    newcomer = await new_member()
    assert len(await _ids(newcomer, "/v1/feed/for-you", limit=5)) == 5  # no history yet: still a feed


async def test_collections_keep_order_and_privacy(new_member: Any) -> None:
    ada, bob = await new_member(), await new_member()
    works = [await ada.publish(f"piece {i}") for i in range(3)]
    private_of_bob = await bob.publish("bob's secret", visibility="private")
    order = [works[2]["id"], works[0]["id"]]
    made = await ada.call("POST", "/v1/collections", 201,
                          json={"title": "Seascapes", "work_ids": order, "training_set": True})
    assert [w["id"] for w in made["works"]] == order and made["training_set"] is True
    await ada.call("POST", "/v1/collections", 422, json={"title": "x", "work_ids": [private_of_bob["id"]]})
    url = f"/v1/collections/{made['id']}"
    await ada.call("PATCH", url, 200, json={"work_ids": [works[1]["id"]], "visibility": "private"})
    await bob.call("GET", url, 404)
    await bob.call("PATCH", url, 404, json={"title": "mine"})
    mine = await ada.call("GET", "/v1/collections", 200)
    assert [c["id"] for c in mine["items"]] == [made["id"]]
    assert (await bob.call("GET", "/v1/collections", 200, params={"owner": ada.username}))["items"] == []
    await ada.call("DELETE", url, 204)
    await ada.call("GET", url, 404)


async def test_insights_count_engagement_by_tag_and_origin(new_member: Any) -> None:
    ada, bob = await new_member(), await new_member()
    work = await ada.publish("popular", tags=["sea"], origin="ai")
    await ada.publish("other", tags=["forest"])
    liked_from = datetime.now(UTC).date()
    await bob.call("PUT", f"/v1/works/{work['id']}/like", 204)
    await bob.call("POST", f"/v1/works/{work['id']}/comments", 201, json={"body": "wow"})
    insights = await ada.call("GET", "/v1/me/insights", 200)
    liked_until = datetime.now(UTC).date()
    assert insights["totals"] == {"works": 2, "likes": 1, "comments": 1}
    # The like counts once, on its own (UTC) day: today's, or yesterday's if midnight passed meanwhile.
    likes = insights["likes_over_time"]
    assert len(likes) == 30 and sum(p["count"] for p in likes) == 1
    assert next(p["date"] for p in likes if p["count"]) in {liked_from.isoformat(), liked_until.isoformat()}
    assert {t["tag"]: t["likes"] for t in insights["by_tag"]} == {"sea": 1, "forest": 0}
    assert {o["origin"]: o["works"] for o in insights["by_origin"]} == {"ai": 1, "human": 1}
    top = insights["top_works"][0]
    assert top["work_id"] == work["id"] and len(top["palette"]) == 5 and insights["palettes_available"]
