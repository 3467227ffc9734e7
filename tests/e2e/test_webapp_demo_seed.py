"""The demo seed of `make run`, against the test platform with a tiny configuration: it creates the
artist's works in two styles, the visitor's follow, like and comment, and queues a training run;
running it again creates nothing new; once the model has trained, the follow-up generates in every
mode and publishes one output as an AI work. A platform that already has works is left alone."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from typing import Any

import aiohttp
import pytest

from demo.seed import Account, DemoConfig, finish_demo, seed

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
ART_SEEDS = itertools.count(1000, 100)
TINY_MODEL = {"name": "Tiny", "architecture": "vae", "image_size": 32, "steps": 20, "width": 16, "batch_size": 8}


def tiny_config(**overrides: Any) -> DemoConfig:
    tag = secrets.token_hex(4)
    # Each demo artist gets its own pictures: the same series by two artists would be near duplicates
    # of each other's works, which human work may not be without an acknowledgement.
    options: dict[str, Any] = {"generations": False, "training_wait_s": 120.0, "only_if_empty": False,
                               "art_seed": next(ART_SEEDS), **overrides}
    return DemoConfig(artist=Account(f"demo_a_{tag}", f"a_{tag}@example.com", "demo password 1"),
                      visitor=Account(f"demo_v_{tag}", f"v_{tag}@example.com", "demo password 1"),
                      works_per_style=3, upload_px=32, model=dict(TINY_MODEL), **options)


async def signed_in(http: aiohttp.ClientSession, account: Account) -> dict[str, str]:
    async with http.post("/v1/auth/login", json={"login": account.username, "password": account.password}) as resp:
        assert resp.status == 200, await resp.text()
        return {"Authorization": f"Bearer {(await resp.json())['token']}"}


async def get(http: aiohttp.ClientSession, path: str, headers: dict[str, str] | None = None) -> Any:
    async with http.get(path, headers=headers or {}) as resp:
        assert resp.status == 200, f"{path}: {resp.status} {await resp.text()}"
        return await resp.json()


async def snapshot(http: aiohttp.ClientSession, config: DemoConfig) -> dict[str, Any]:
    artist = await signed_in(http, config.artist)
    works = (await get(http, f"/v1/works?author={config.artist.username}&limit=100"))["items"]
    models = (await get(http, "/v1/models?limit=100", artist))["items"]
    profile = await get(http, f"/v1/users/{config.artist.username}", await signed_in(http, config.visitor))
    comments = (await get(http, f"/v1/works/{works[-1]['id']}/comments?limit=100"))["items"] if works else []
    me = await get(http, "/v1/me", artist)
    return {"works": works, "models": models, "profile": profile, "comments": comments, "me": me}


async def test_seed_creates_the_demo_once_and_queues_training(gateway_url: str) -> None:
    config = tiny_config()
    message = await asyncio.to_thread(seed, None, gateway_url, config)
    assert config.artist.username in message and config.artist.password in message, message

    async with aiohttp.ClientSession(base_url=gateway_url) as http:
        first = await snapshot(http, config)
        works = first["works"]
        assert len(works) == 6
        assert {w["tags"][0] for w in works} == {"waves", "geometric"}
        assert all(w["allow_training"] and w["origin"] == "human" for w in works)
        assert first["me"]["allow_training"] is True
        assert first["profile"]["followed_by_me"] is True
        assert [c["body"] for c in first["comments"]] == ["Love the palette!"]
        [model] = first["models"]
        assert model["name"] == "Tiny" and model["status"] in ("queued", "running", "succeeded")
        trained_on = (await get(http, f"/v1/models/{model['id']}", await signed_in(http, config.artist)))["work_ids"]
        assert sorted(trained_on) == sorted(w["id"] for w in works if config.train_style in w["tags"])

        again = await asyncio.to_thread(seed, None, gateway_url, config)
        assert "is " in again, again  # reports the existing model's status instead of queueing another
        second = await snapshot(http, config)
        assert [w["id"] for w in second["works"]] == [w["id"] for w in works]
        assert [m["id"] for m in second["models"]] == [model["id"]]
        assert len(second["comments"]) == 1
        assert sum(w["comment_count"] for w in second["works"]) == 1
        assert sum(w["like_count"] for w in second["works"]) == 3

        done = await finish_demo(gateway_url, model["id"], config)
        assert "trained" in done and "published" in done, done
        artist = await signed_in(http, config.artist)
        generations = (await get(http, "/v1/generations?limit=10", artist))["items"]
        assert sorted(g["mode"] for g in generations) == ["interpolate", "sample", "variations"]
        assert all(g["status"] == "succeeded" for g in generations)
        ai_works = (await get(http, f"/v1/works?author={config.artist.username}&origin=ai"))["items"]
        assert [w["title"] for w in ai_works] == ["Tiny, imagined"]
        assert ai_works[0]["model"]["id"] == model["id"]
        # The market: the model shared and priced, the visitor bought 4 images, both statements show it.
        assert "bought 4" in done, done
        visitor = await signed_in(http, config.visitor)
        statement = (await get(http, "/v1/me/credits/statement", visitor))["items"]
        assert [e["kind"] for e in statement][:2] == ["reserve", "grant"] and statement[0]["amount"] == -8
        for _ in range(100):  # settled on the generation's completed event: the artist (all 6 training works) gets 8
            owner_lines = (await get(http, "/v1/me/credits/statement", artist))["items"]
            if owner_lines and owner_lines[0]["kind"] == "settle":
                break
            await asyncio.sleep(0.3)
        assert owner_lines[0]["kind"] == "settle" and owner_lines[0]["amount"] == 8, owner_lines
        assert await get(http, "/v1/me/credits", visitor) == {**await get(http, "/v1/me/credits", visitor),
                                                              "balance": 92, "reserved": 0}

        # The follow-up is idempotent too.
        assert "already" in await finish_demo(gateway_url, model["id"], config)
        assert len((await get(http, "/v1/generations?limit=10", artist))["items"]) == 3
        await asyncio.to_thread(seed, None, gateway_url, config)
        third = await snapshot(http, config)
        assert len(third["works"]) == 7  # the six human works and the published AI work
        assert sum(w["comment_count"] for w in third["works"]) == 1


async def test_seed_leaves_a_platform_with_works_alone(gateway_url: str) -> None:
    # Another test's works make the shared platform non-empty.
    config = tiny_config(only_if_empty=True)
    async with aiohttp.ClientSession(base_url=gateway_url) as http:
        if not (await get(http, "/v1/works?limit=1"))["items"]:
            await asyncio.to_thread(seed, None, gateway_url, tiny_config())
        message = await asyncio.to_thread(seed, None, gateway_url, config)
        assert "already has works" in message, message
        async with http.post("/v1/auth/login", json={"login": config.artist.username,
                                                     "password": config.artist.password}) as resp:
            assert resp.status == 401
