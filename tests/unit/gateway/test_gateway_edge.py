"""CORS and Idempotency-Key at the edge, on a small app built with the gateway's middlewares."""

from __future__ import annotations

import asyncio
import itertools
import time

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.gateway.app import edge_middlewares
from services.gateway.auth import VERIFIER, TokenVerifier, require_user
from services.gateway.cors import CorsPolicy, install_cors
from services.gateway.idempotency import IDEMPOTENCY_STORE
from services.gateway.idempotency_store import IdempotencyRecord, MemoryIdempotencyStore
from services.gateway.settings import GatewaySettings
from shared.errors import Conflict
from shared.web import create_base_app

KEY = Ed25519PrivateKey.generate()
PUBLIC_PEM = KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def token(user_id: str) -> str:
    now = int(time.time())
    return jwt.encode({"sub": user_id, "iat": now, "exp": now + 60, "iss": "atelier"}, KEY, algorithm="EdDSA")


def make_app(**settings: object) -> web.Application:
    config = GatewaySettings(**settings)  # type: ignore[arg-type]
    cors = CorsPolicy(config.cors_origins)
    app = create_base_app(middlewares=edge_middlewares(config, cors))
    install_cors(app, cors)
    app[VERIFIER] = TokenVerifier(PUBLIC_PEM)
    app[IDEMPOTENCY_STORE] = MemoryIdempotencyStore(ttl_s=60, pending_s=30)
    counter = itertools.count(1)

    async def create(request: web.Request) -> web.Response:
        require_user(request)
        body = await request.json()
        if body.get("fail"):
            raise Conflict("that name is taken")
        return web.json_response({"id": next(counter), **body}, status=201)

    async def hello(_: web.Request) -> web.Response:
        return web.json_response({"hello": True})

    app.router.add_post("/things", create)
    app.router.add_get("/hello", hello)
    return app


def auth(user: str = "u1", key: str | None = "k-1") -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token(user)}"}
    if key:
        headers["Idempotency-Key"] = key
    return headers


async def test_same_key_same_body_replays_the_first_answer(aiohttp_client) -> None:
    client = await aiohttp_client(make_app())
    first = await client.post("/things", json={"name": "a"}, headers=auth())
    again = await client.post("/things", json={"name": "a"}, headers=auth())
    assert first.status == again.status == 201
    assert await first.json() == await again.json() == {"id": 1, "name": "a"}
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content_type == "application/json"
    # Without a key, or for another user, the request runs again.
    assert (await (await client.post("/things", json={"name": "a"}, headers=auth(key=None))).json())["id"] == 2
    assert (await (await client.post("/things", json={"name": "a"}, headers=auth("u2"))).json())["id"] == 3


async def test_same_key_other_body_is_422(aiohttp_client) -> None:
    client = await aiohttp_client(make_app())
    await client.post("/things", json={"name": "a"}, headers=auth())
    resp = await client.post("/things", json={"name": "b"}, headers=auth())
    assert resp.status == 422 and resp.content_type == "application/problem+json"
    assert "different request body" in (await resp.json())["detail"]


async def test_failed_request_is_not_stored_so_a_retry_runs(aiohttp_client) -> None:
    client = await aiohttp_client(make_app())
    resp = await client.post("/things", json={"name": "a", "fail": True}, headers=auth())
    assert resp.status == 409
    resp = await client.post("/things", json={"name": "a", "fail": True}, headers=auth())
    assert resp.status == 409 and "Idempotent-Replayed" not in resp.headers


async def test_key_in_progress_is_409_and_bad_key_is_400(aiohttp_client) -> None:
    app = make_app()
    client = await aiohttp_client(app)
    from services.gateway.idempotency import scope_key

    # Another replica holds the key right now (reserved, not completed).
    store = app[IDEMPOTENCY_STORE]
    body = b'{"name": "a"}'
    import hashlib

    fingerprint = hashlib.sha256(b"application/json\n" + body).hexdigest()
    await store.reserve(scope_key("u1", "POST", "/things", "busy"), fingerprint)
    resp = await client.post("/things", data=body, headers={**auth(key="busy"), "Content-Type": "application/json"})
    assert resp.status == 409 and resp.headers["Retry-After"] == "1"
    resp = await client.post("/things", json={}, headers=auth(key="x" * 201))
    assert resp.status == 400


async def test_memory_store_forgets_stale_pending_and_expired_records() -> None:
    store = MemoryIdempotencyStore(ttl_s=60, pending_s=0.0)
    assert await store.reserve("k", "f") is None
    await asyncio.sleep(0.01)
    assert await store.reserve("k", "f") is None  # the first holder died: pending went stale
    await store.complete("k", IdempotencyRecord("f", "done", time.time()))
    found = await store.reserve("k", "f")
    assert found is not None and found.state == "done"


async def test_cors_preflight_and_headers_on_errors(aiohttp_client) -> None:
    client = await aiohttp_client(make_app(cors_origins="https://studio.example, https://x.example"))
    pre = await client.options("/things", headers={
        "Origin": "https://studio.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"})
    assert pre.status == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "https://studio.example"
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    assert "idempotency-key" in pre.headers["Access-Control-Allow-Headers"]
    # A 401 problem is readable by the allowed origin's script too.
    resp = await client.post("/things", json={}, headers={"Origin": "https://studio.example"})
    assert resp.status == 401 and resp.headers["Access-Control-Allow-Origin"] == "https://studio.example"
    assert "X-Request-ID" in resp.headers["Access-Control-Expose-Headers"]
    denied = await client.options("/things", headers={"Origin": "https://evil.example",
                                                      "Access-Control-Request-Method": "POST"})
    assert denied.status == 403 and "Access-Control-Allow-Origin" not in denied.headers
    plain = await client.get("/hello", headers={"Origin": "https://evil.example"})
    assert plain.status == 200 and "Access-Control-Allow-Origin" not in plain.headers


@pytest.mark.parametrize("raw, expected", [
    ('["https://a.example"]', ["https://a.example"]), ("https://a.example,https://b.example",
                                                       ["https://a.example", "https://b.example"]),
    ("*", ["*"]), ("", []),
])
def test_cors_origins_from_environment(monkeypatch, raw: str, expected: list[str]) -> None:
    monkeypatch.setenv("ATELIER_CORS_ORIGINS", raw)
    assert GatewaySettings().cors_origins == expected
