"""Per-user quotas hold across gateway replicas: two gateway apps share one NATS (the quota
counters live in its KeyValue bucket) and call the real services of the session platform.

Every refusal is a 429 problem with `Retry-After` and the limit; a request that fails does not
spend the quota; the stored-bytes quota of the assets service refuses the upload that would pass it
and removes its staged bytes.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import time
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from minio import Minio
from PIL import Image

from services.assets import object_keys as keys
from services.assets.service import AssetService
from services.assets.settings import AssetsSettings
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from shared.db import create_pool
from shared.errors import TooManyRequests
from shared.ids import new_id
from shared.objectstore import ObjectStore
from tests.support.style_models import announce_trained, tiny_generator_onnx, upload_model


def token_for(endpoints: Any, user_id: str) -> dict[str, str]:
    now = int(time.time())
    claims = {"sub": user_id, "username": "quota", "iat": now, "exp": now + 600, "iss": "atelier"}
    token = jwt.encode(claims, endpoints.jwt_private_key_file.read_text(), algorithm="EdDSA")
    return {"Authorization": f"Bearer {token}"}


async def replica(endpoints: Any, **limits: Any) -> web.Application:
    settings = GatewaySettings(nats_url=endpoints.nats_url, jwt_public_key_file=endpoints.jwt_public_key_file,
                               quota_backend="nats", **limits)
    return await create_app(settings)


def png() -> bytes:
    buf = io.BytesIO()
    Image.frombytes("RGB", (16, 16), secrets.token_bytes(16 * 16 * 3)).save(buf, "PNG")
    return buf.getvalue()


async def assert_quota_problem(resp: aiohttp.ClientResponse, quota: str, limit: int, window_s: float) -> dict[str, Any]:
    assert resp.status == 429, await resp.text()
    assert resp.content_type == "application/problem+json"
    problem: dict[str, Any] = await resp.json()
    assert problem["quota"] == quota and problem["limit"] == limit and problem["window_s"] == window_s, problem
    retry_after = int(resp.headers["Retry-After"])
    assert 1 <= retry_after <= max(window_s, 1) and problem["retry_after_s"] == retry_after
    return problem


async def test_uploads_per_hour_are_counted_across_replicas(endpoints, platform, aiohttp_client):  # type: ignore[no-untyped-def]
    a = await aiohttp_client(await replica(endpoints, quota_uploads_per_hour=3))
    b = await aiohttp_client(await replica(endpoints, quota_uploads_per_hour=3))
    user = {**token_for(endpoints, new_id()), "Content-Type": "image/png"}
    for client in (a, b, a):
        resp = await client.post("/v1/assets", data=png(), headers=user)
        assert resp.status == 201, await resp.text()
    refused = await b.post("/v1/assets", data=png(), headers=user)
    problem = await assert_quota_problem(refused, "uploads", 3, 3600)
    assert "3 uploads per hour" in problem["detail"]
    # A direct-upload ticket is an upload too; another user is not affected.
    direct = await a.post("/v1/assets/uploads", headers=user)
    await assert_quota_problem(direct, "uploads", 3, 3600)
    other = await b.post("/v1/assets", data=png(), headers={**token_for(endpoints, new_id()),
                                                            "Content-Type": "image/png"})
    assert other.status == 201


async def trained_model(endpoints: Any, js: Any, owner_id: str) -> str:
    model_id = new_id()
    client = Minio(endpoints.s3_endpoint, access_key=endpoints.s3_access_key, secret_key=endpoints.s3_secret_key,
                   secure=False)
    await asyncio.to_thread(upload_model, client, endpoints.s3_bucket, model_id, 1, tiny_generator_onnx(3))
    await announce_trained(js, model_id, owner_id, 1)
    return model_id


async def test_images_per_minute_are_counted_across_replicas_and_failures_refunded(  # type: ignore[no-untyped-def]
        endpoints, platform, js, aiohttp_client):
    a = await aiohttp_client(await replica(endpoints, quota_images_per_minute=6))
    b = await aiohttp_client(await replica(endpoints, quota_images_per_minute=6))
    owner = new_id()
    user = token_for(endpoints, owner)
    # Refused generations (the model is unknown) cost nothing: far more than 6 images are asked for.
    for _ in range(4):
        resp = await a.post("/v1/generations", json={"model_id": new_id(), "count": 4}, headers=user)
        assert resp.status == 404, await resp.text()
    model_id = await trained_model(endpoints, js, owner)
    deadline = time.monotonic() + 30
    while True:  # the just-announced model becomes usable shortly (404/409 until then, refunded)
        resp = await a.post("/v1/generations", json={"model_id": model_id, "count": 4}, headers=user)
        if resp.status == 202:
            break
        assert resp.status in (404, 409) and time.monotonic() < deadline, await resp.text()
        await asyncio.sleep(0.3)
    over = await b.post("/v1/generations", json={"model_id": model_id, "count": 3}, headers=user)
    problem = await assert_quota_problem(over, "images", 6, 60)
    assert "6 generated images per minute" in problem["detail"]
    fits = await b.post("/v1/generations", json={"model_id": model_id, "count": 2}, headers=user)
    assert fits.status == 202, await fits.text()
    await assert_quota_problem(await a.post("/v1/generations", json={"model_id": model_id, "count": 1},
                                            headers=user), "images", 6, 60)


async def test_open_websockets_per_user_across_replicas(endpoints, platform, aiohttp_client):  # type: ignore[no-untyped-def]
    a = await aiohttp_client(await replica(endpoints, quota_websockets_per_user=2))
    b = await aiohttp_client(await replica(endpoints, quota_websockets_per_user=2))
    user = token_for(endpoints, new_id())
    first = await a.ws_connect("/v1/events", headers=user)
    second = await b.ws_connect("/v1/events", headers=user)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await a.ws_connect("/v1/events", headers=user)
    assert refused.value.status == 429 and int(refused.value.headers["Retry-After"]) >= 1
    third = await b.get("/v1/events", headers={**user, "Connection": "Upgrade", "Upgrade": "websocket",
                                                "Sec-WebSocket-Version": "13",
                                                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    await assert_quota_problem(third, "websockets", 2, 90.0)
    other = await b.ws_connect("/v1/events", headers=token_for(endpoints, new_id()))
    await first.close()
    deadline = time.monotonic() + 5
    while True:  # the slot is released as the connection ends on the server
        try:
            again = await b.ws_connect("/v1/events", headers=user)
            break
        except aiohttp.WSServerHandshakeError as exc:
            assert exc.status == 429 and time.monotonic() < deadline
            await asyncio.sleep(0.1)
    for ws in (second, other, again):
        await ws.close()


async def test_stored_bytes_per_user_refuse_the_upload_that_passes_them(endpoints, platform):  # type: ignore[no-untyped-def]
    first, second = png(), png()
    settings = AssetsSettings(database_url=endpoints.database_url, s3_endpoint=endpoints.s3_endpoint,
                              s3_access_key=endpoints.s3_access_key, s3_secret_key=endpoints.s3_secret_key,
                              s3_bucket=endpoints.s3_bucket,
                              quota_stored_bytes_per_user=len(first) + len(second) // 2)
    pool = await create_pool(settings, schema="assets")
    objects = ObjectStore(settings)
    service = AssetService(settings, pool, objects, nc=None)  # type: ignore[arg-type]
    owner = new_id()
    try:
        staged = [(new_id(), first), (new_id(), second)]
        for asset_id, data in staged:
            await objects.write(keys.staging_key(owner, asset_id), data, "image/png")
        row, created = await service.complete_upload(owner, staged[0][0])
        assert created and row.size > 0
        with pytest.raises(TooManyRequests) as refused:
            await service.complete_upload(owner, staged[1][0])
        problem = refused.value.to_problem()
        assert problem["quota"] == "stored_bytes" and problem["limit"] == settings.quota_stored_bytes_per_user
        assert problem["used"] == row.size and refused.value.headers["Retry-After"] == "3600"
        assert await objects.size(keys.staging_key(owner, staged[1][0])) is None  # nothing half-written
        assert await pool.fetchval("SELECT count(*) FROM assets WHERE owner_id = $1", owner) == 1
    finally:
        service.close()
        await pool.close()


async def test_rate_limits_hold_across_replicas_with_the_nats_backend(endpoints, aiohttp_client):  # type: ignore[no-untyped-def]
    # rate * window + burst = 1 + 2 = 3 requests per hour-long window, per address and per user.
    limits = {"rate_limit_backend": "nats", "rate_limit_window_s": 3600, "rate_limit_ip_per_s": 0.0003,
              "rate_limit_ip_burst": 2, "rate_limit_user_per_s": 0.0003, "rate_limit_user_burst": 2,
              "forwarded_hops": 1}
    a = await aiohttp_client(await replica(endpoints, **limits))
    b = await aiohttp_client(await replica(endpoints, **limits))
    address = {"X-Forwarded-For": f"203.0.113.9, {new_id()}"}  # one hop: the last entry is the client
    for client in (a, b, a):
        assert (await client.get("/v1/openapi.json", headers=address)).status == 200
    refused = await b.get("/v1/openapi.json", headers=address)
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    problem = await refused.json()
    assert problem["limit"] == 3 and problem["window_s"] == 3600
    assert (await a.get("/healthz", headers=address)).status == 200  # probes are never limited

    user = token_for(endpoints, new_id())
    for i, client in enumerate((a, b, a, b)):
        resp = await client.get("/v1/openapi.json", headers={**user, "X-Forwarded-For": new_id()})
        assert resp.status == (200 if i < 3 else 429), (i, await resp.text())
