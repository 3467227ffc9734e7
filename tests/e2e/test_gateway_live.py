"""The public edge end to end: live events from real community actions (follow, publish, like),
Idempotency-Key on creating a work, request ids, and the served OpenAPI document."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

import aiohttp
from openapi_spec_validator import validate

from tests.support.members import Member, sign_up


async def subscribe(http: aiohttp.ClientSession, member: Member, channels: list[str]) -> Any:
    ws = await http.ws_connect("/v1/events", protocols=("atelier.v1", f"bearer.{member.token}"))
    await ws.send_json({"subscribe": channels})
    while "subscribed" not in (doc := await ws.receive_json(timeout=10)):
        assert "error" not in doc, doc
    return ws


async def next_event(ws: Any, wanted: Any, timeout_s: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        doc = json.loads((await ws.receive(timeout=max(0.1, deadline - time.monotonic()))).data)
        if "specversion" in doc and wanted(doc):
            return doc  # type: ignore[no-any-return]


async def test_follow_publish_and_like_reach_the_right_people_live(http: aiohttp.ClientSession) -> None:
    artist, fan = await sign_up(http), await sign_up(http)
    ws_fan = await subscribe(http, fan, ["feed", "me"])
    ws_artist = await subscribe(http, artist, ["me"])

    await fan.call("PUT", f"/v1/users/{artist.username}/follow", 204)
    followed = await next_event(ws_artist, lambda d: d["type"] == "atelier.community.user.followed")
    assert followed["data"]["follower_id"] == fan.id and followed["channel"] == "me"

    body = {"title": "Live tide", "asset_ids": [await artist.upload()], "visibility": "public"}
    work = await artist.call("POST", "/v1/works", 201, json=body)
    published = await next_event(ws_fan, lambda d: d["data"].get("work_id") == work["id"])
    assert published["channel"] == "feed" and published["data"]["author_id"] == artist.id
    assert published["sequence"].startswith("COMMUNITY=")
    own = await next_event(ws_artist, lambda d: d["data"].get("work_id") == work["id"])
    assert own["type"] == "atelier.community.work.published" and own["channel"] == "me"

    await fan.call("PUT", f"/v1/works/{work['id']}/like", 204)
    liked = await next_event(ws_artist, lambda d: d["type"] == "atelier.community.work.liked")
    assert liked["data"]["user_id"] == fan.id
    await ws_fan.close()
    await ws_artist.close()


async def test_idempotency_key_on_creating_a_work(http: aiohttp.ClientSession) -> None:
    artist = await sign_up(http)
    body = {"title": "Once", "asset_ids": [await artist.upload()]}
    headers = {**artist.headers, "Idempotency-Key": secrets.token_hex(8)}
    async with http.post("/v1/works", json=body, headers=headers) as first:
        assert first.status == 201
        created = await first.json()
    async with http.post("/v1/works", json=body, headers=headers) as again:
        assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert (await again.json())["id"] == created["id"]
    async with http.post("/v1/works", json={**body, "title": "Twice"}, headers=headers) as other:
        assert other.status == 422
    listing = await artist.call("GET", f"/v1/works?author={artist.username}", 200)
    assert [w["id"] for w in listing["items"]] == [created["id"]]


async def test_request_id_is_echoed_and_openapi_is_valid(http: aiohttp.ClientSession) -> None:
    async with http.get("/v1/openapi.json", headers={"X-Request-ID": "e2e-req-42"}) as resp:
        assert resp.status == 200 and resp.headers["X-Request-ID"] == "e2e-req-42"
    async with http.get("/v1/openapi.json") as resp:
        doc = await resp.json()
    validate(doc)
    for path in ("/v1/events", "/v1/works", "/v1/assets", "/v1/generations"):
        assert path in doc["paths"], path
    async with http.get("/") as resp:
        assert resp.status == 200 and "text/html" in resp.headers["Content-Type"]
        assert "/app/js/main.js" in await resp.text()


async def test_readyz_reports_every_service_behind_the_gateway(http: aiohttp.ClientSession) -> None:
    # The gateway gives each service 1 s to answer its PING (services/gateway/health.py, sized to fit
    # the 2 s readiness probe). On a loaded machine one reply can miss that by a hair, so a few probes
    # are allowed; a service that is down or never registered is unreachable in every one of them.
    for attempt in range(5):
        async with http.get("/readyz") as resp:
            assert resp.status == 200
            body = await resp.json()
        assert body["checks"] == {"nats": True}
        services = body["reports"]["services"]
        assert set(services) == {"community", "assets", "trainer", "inference"}
        if all(s["reachable"] for s in services.values()) or attempt == 4:
            break
        await asyncio.sleep(1.0)
    assert all(s["reachable"] for s in services.values()), services
