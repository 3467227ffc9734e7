"""Edge behaviour of the gateway against real NATS: the request id reaches the services it calls,
and Idempotency-Key replays are shared by replicas through the JetStream KeyValue bucket."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import jwt
from aiohttp import web

from services.gateway.app import create_app
from services.gateway.auth import require_user
from services.gateway.routing import forward
from services.gateway.settings import GatewaySettings
from shared.contracts.common import Reply
from shared.contracts.operation import Operation
from shared.ids import new_id


def token_for(endpoints: Any, user_id: str) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "username": "edge", "iat": now, "exp": now + 600, "iss": "atelier"}
    return jwt.encode(claims, endpoints.jwt_private_key_file.read_text(), algorithm="EdDSA")


async def gateway_app(endpoints: Any, service: str, **overrides: Any) -> web.Application:
    settings = GatewaySettings(nats_url=endpoints.nats_url, jwt_public_key_file=endpoints.jwt_public_key_file,
                               **overrides)
    app = await create_app(settings)
    counter = itertools.count(1)
    # Declared directly, not through `operation()`: a throw-away operation is not registered.
    echo = Operation(service, "echo", Reply, None, summary="echo", actor="optional")

    async def probe(request: web.Request) -> web.Response:
        raw = await forward(request, echo, {"hello": "world"})
        return web.Response(body=raw, content_type="application/json")

    async def create(request: web.Request) -> web.Response:
        require_user(request)
        body = await request.json()
        return web.json_response({"id": next(counter), "name": body["name"]}, status=201,
                                 headers={"Location": "/things/1"})

    app.router.add_get("/test/probe", probe)
    app.router.add_post("/test/things", create)
    return app


async def test_request_id_and_caller_travel_with_rpc_calls(endpoints, aiohttp_client, nc):
    service = f"probe{new_id().lower()}"
    seen: list[dict[str, str]] = []

    async def echo(msg: Any) -> None:
        seen.append(dict(msg.headers or {}))
        await msg.respond(json.dumps({"ok": True}).encode())

    sub = await nc.subscribe(f"svc.{service}.echo", cb=echo)
    await nc.flush()
    client = await aiohttp_client(await gateway_app(endpoints, service, idempotency_backend="memory"))
    user = new_id()
    resp = await client.get("/test/probe", headers={"X-Request-ID": "req-abc-123",
                                                    "Authorization": f"Bearer {token_for(endpoints, user)}"})
    assert resp.status == 200 and resp.headers["X-Request-ID"] == "req-abc-123"
    resp = await client.get("/test/probe")
    generated = resp.headers["X-Request-ID"]
    await sub.unsubscribe()
    assert seen[0]["X-Request-ID"] == "req-abc-123" and seen[0]["Atelier-Actor"] == user
    assert seen[1]["X-Request-ID"] == generated and "Atelier-Actor" not in seen[1]


async def test_idempotency_key_replays_across_replicas_via_nats_kv(endpoints, aiohttp_client):
    replica_a = await aiohttp_client(await gateway_app(endpoints, "unused", idempotency_backend="nats"))
    replica_b = await aiohttp_client(await gateway_app(endpoints, "unused", idempotency_backend="nats"))
    auth = {"Authorization": f"Bearer {token_for(endpoints, new_id())}", "Idempotency-Key": new_id()}

    first = await replica_a.post("/test/things", json={"name": "vase"}, headers=auth)
    assert first.status == 201
    created = await first.json()
    again = await replica_b.post("/test/things", json={"name": "vase"}, headers=auth)
    assert again.status == 201 and await again.json() == created
    assert again.headers["Idempotent-Replayed"] == "true" and again.headers["Location"] == "/things/1"
    other = await replica_a.post("/test/things", json={"name": "bowl"}, headers=auth)
    assert other.status == 422 and other.content_type == "application/problem+json"
    fresh = await replica_b.post("/test/things", json={"name": "vase"}, headers={**auth, "Idempotency-Key": new_id()})
    assert fresh.status == 201 and "Idempotent-Replayed" not in fresh.headers
