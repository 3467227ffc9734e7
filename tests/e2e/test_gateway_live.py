"""The public edge end to end: live events from real community actions (follow, publish, like),
Idempotency-Key on creating a work, request ids, and the served OpenAPI document."""

from __future__ import annotations

import io
import json
import secrets
import time
from typing import Any

import aiohttp
import pytest
from openapi_spec_validator import validate
from PIL import Image

PASSWORD = "correct horse battery"


class Member:
    def __init__(self, http: aiohttp.ClientSession, session: dict[str, Any]) -> None:
        self.http = http
        self.id: str = session["user"]["id"]
        self.username: str = session["user"]["username"]
        self.token: str = session["token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    async def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        kwargs.setdefault("headers", self.headers)
        async with self.http.request(method, path, **kwargs) as resp:
            assert resp.status == expect, f"{method} {path}: {resp.status} {await resp.text()}"
            return await resp.json() if resp.content_type.endswith("json") else None

    async def upload(self) -> str:
        buf = io.BytesIO()
        Image.frombytes("RGB", (16, 16), secrets.token_bytes(16 * 16 * 3)).save(buf, "PNG")
        asset = await self.call("POST", "/v1/assets", 201, data=buf.getvalue(),
                                headers={**self.headers, "Content-Type": "image/png"})
        return str(asset["id"])


@pytest.fixture
async def http(gateway_url: str) -> Any:
    async with aiohttp.ClientSession(base_url=gateway_url, timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


async def sign_up(http: aiohttp.ClientSession) -> Member:
    name = "g_" + secrets.token_hex(6)
    async with http.post("/v1/auth/signup", json={"username": name, "email": f"{name}@example.com",
                                                  "password": PASSWORD}) as resp:
        assert resp.status == 201, await resp.text()
        return Member(http, await resp.json())


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
    async with http.get("/v1/status", headers={"X-Request-ID": "e2e-req-42"}) as resp:
        assert resp.status == 200 and resp.headers["X-Request-ID"] == "e2e-req-42"
    async with http.get("/v1/openapi.json") as resp:
        doc = await resp.json()
    validate(doc)
    for path in ("/v1/events", "/v1/works", "/v1/assets", "/v1/generations"):
        assert path in doc["paths"], path
    async with http.get("/") as resp:
        assert resp.status == 200 and "text/html" in resp.headers["Content-Type"]
        assert "/app/js/main.js" in await resp.text()
