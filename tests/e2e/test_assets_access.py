"""Who may see and delete an asset, and direct (presigned) uploads, through the gateway.

Visibility follows community's work events: most tests publish them to JetStream exactly as
community does; the delete test uses a real account and a real private work in community.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import jwt

from demo.art import render
from shared.contracts.events.catalog import WorkDeleted, WorkPublished, WorkUpdated
from shared.contracts.events.envelope import make_event
from shared.ids import new_id
from shared.messaging.publisher import publish_event


def token_for(endpoints: Any, user_id: str) -> str:
    now = datetime.now(UTC)
    return jwt.encode({"sub": user_id, "iss": "atelier", "iat": now, "exp": now + timedelta(minutes=30)},
                      endpoints.jwt_private_key_file.read_text(), algorithm="EdDSA")


class User:
    def __init__(self, endpoints: Any) -> None:
        self.id = new_id()
        self.headers = {"Authorization": f"Bearer {token_for(endpoints, self.id)}"}


def png(seed: int) -> bytes:
    buf = io.BytesIO()
    render("geometric", seed, 96).save(buf, "PNG")
    return buf.getvalue()


async def _upload(http: aiohttp.ClientSession, user: User, seed: int) -> dict[str, Any]:
    async with http.post("/v1/assets", data=png(seed), headers={**user.headers, "Content-Type": "image/png"}) as r:
        assert r.status == 201, await r.text()
        return dict(await r.json())


async def _status(http: aiohttp.ClientSession, path: str, headers: dict[str, str] | None = None) -> int:
    async with http.get(path, headers=headers or {}) as resp:
        await resp.read()
        return resp.status


async def _eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


async def _publish(js: Any, payload: Any) -> None:
    await publish_event(js, make_event(payload, service="community", subject_id=payload.work_id), timeout=5.0)


async def test_visibility_follows_work_events(http: Any, endpoints: Any, platform: Any, js: Any) -> None:
    owner, other = User(endpoints), User(endpoints)
    asset = await _upload(http, owner, 101)
    path = f"/v1/assets/{asset['id']}"
    for headers in (other.headers, {}):  # not visible yet: 404, exactly like an unknown id
        assert await _status(http, path, headers) == 404
        assert await _status(http, f"{path}/content", headers) == 404
    assert await _status(http, f"/v1/assets/{new_id()}", owner.headers) == 404

    work_id = new_id()
    await _publish(js, WorkPublished(work_id=work_id, author_id=owner.id, title="t", origin="human", tags=[],
                                     asset_ids=[asset["id"]], visibility="public"))
    await _eventually(lambda: _ok(http, f"{path}/content"))
    async with http.get(f"{path}/thumbnail") as resp:  # anonymous, publicly cacheable
        assert resp.status == 200 and resp.headers["Cache-Control"].startswith("public")
    assert await _status(http, path, other.headers) == 200

    await _publish(js, WorkUpdated(work_id=work_id, author_id=owner.id, visibility="private",
                                   asset_ids=[asset["id"]]))
    await _eventually(lambda: _gone(http, f"{path}/content"))
    assert await _status(http, path, owner.headers) == 200  # the owner always sees it


async def _ok(http: aiohttp.ClientSession, path: str) -> bool:
    return await _status(http, path) == 200


async def _gone(http: aiohttp.ClientSession, path: str) -> bool:
    return await _status(http, path) == 404


async def _signup(http: aiohttp.ClientSession) -> tuple[str, dict[str, str]]:
    """A real account in community (works need one); returns (user id, auth headers)."""
    name = f"a{new_id().lower()[-12:]}"
    body = {"username": name, "email": f"{name}@example.com", "password": "correct horse battery"}
    async with http.post("/v1/auth/signup", json=body) as resp:
        assert resp.status == 201, await resp.text()
        doc = await resp.json()
    return doc["user"]["id"], {"Authorization": f"Bearer {doc['token']}"}


async def _delete(http: aiohttp.ClientSession, path: str, user: User) -> int:
    async with http.delete(path, headers=user.headers) as resp:
        await resp.read()
        return resp.status


async def test_delete_refuses_assets_in_use_then_removes_everything(
    http: Any, endpoints: Any, platform: Any, js: Any,
) -> None:
    owner, other = User(endpoints), User(endpoints)
    owner.id, owner.headers = await _signup(http)
    asset = await _upload(http, owner, 102)
    path = f"/v1/assets/{asset['id']}"
    work = {"title": "private study", "tags": [], "asset_ids": [asset["id"]], "visibility": "private",
            "origin": "human", "allow_training": False}
    async with http.post("/v1/works", json=work, headers=owner.headers) as resp:
        assert resp.status == 201, await resp.text()
        private_work = (await resp.json())["id"]
    assert await _delete(http, path, owner) == 409  # used by a private work only community knows
    assert await _delete(http, path, other) == 404  # not theirs and not visible to them
    async with http.delete(f"/v1/works/{private_work}", headers=owner.headers) as resp:
        assert resp.status == 204

    work_id = new_id()  # a public work seen through events also blocks the delete
    await _publish(js, WorkPublished(work_id=work_id, author_id=owner.id, title="t", origin="human", tags=[],
                                     asset_ids=[asset["id"]], visibility="public"))
    await _eventually(lambda: _ok(http, path))
    assert await _delete(http, path, other) == 403  # visible to them, but not theirs
    assert await _delete(http, path, owner) == 409
    await _publish(js, WorkDeleted(work_id=work_id, author_id=owner.id, asset_ids=[asset["id"]]))
    await _eventually(lambda: _gone(http, path))

    assert await _delete(http, path, owner) == 204
    assert await _status(http, path, owner.headers) == 404
    assert await _status(http, f"{path}/content", owner.headers) == 404
    from deploy.local.s3 import minio_client

    client = minio_client(endpoints.s3_endpoint, endpoints.s3_access_key, endpoints.s3_secret_key)
    names = await asyncio.to_thread(lambda: [o.object_name for o in client.list_objects(
        endpoints.s3_bucket, prefix="", recursive=True) if asset["id"] in (o.object_name or "")])
    assert names == []


async def test_direct_upload_then_complete(http: Any, endpoints: Any, platform: Any) -> None:
    user = User(endpoints)
    async with http.post("/v1/assets/uploads", headers=user.headers) as resp:
        assert resp.status == 201
        ticket = await resp.json()
    assert datetime.fromisoformat(ticket["expires_at"]) > datetime.now(UTC)
    data = png(103)
    async with aiohttp.ClientSession() as raw, raw.put(ticket["upload_url"], data=data) as put:
        assert put.status == 200
    complete = f"/v1/assets/{ticket['asset_id']}/complete"
    async with http.post(complete, headers=User(endpoints).headers) as resp:
        assert resp.status == 404  # someone else's upload id
    async with http.post(complete, headers=user.headers) as resp:
        assert resp.status == 201
        asset = await resp.json()
    assert asset["id"] == ticket["asset_id"] and asset["size"] == len(data)
    async with http.post(complete, headers=user.headers) as resp:
        assert resp.status == 200 and (await resp.json())["id"] == asset["id"]  # idempotent
    async with http.get(asset["urls"]["content"], headers=user.headers) as resp:
        assert await resp.read() == data


async def test_direct_upload_of_a_non_image_is_refused_and_removed(http: Any, endpoints: Any, platform: Any) -> None:
    user = User(endpoints)
    async with http.post("/v1/assets/uploads", headers=user.headers) as resp:
        ticket = await resp.json()
    async with aiohttp.ClientSession() as raw, raw.put(ticket["upload_url"], data=b"<html>no</html>") as put:
        assert put.status == 200
    complete = f"/v1/assets/{ticket['asset_id']}/complete"
    async with http.post(complete, headers=user.headers) as resp:
        assert resp.status == 415
    async with http.post(complete, headers=user.headers) as resp:
        assert resp.status == 404  # the staged bytes are gone
    async with http.post(f"/v1/assets/{new_id()}/complete", headers=user.headers) as resp:
        assert resp.status == 404  # nothing uploaded


async def test_openapi_describes_the_asset_routes(http: Any, platform: Any) -> None:
    async with http.get("/v1/openapi.json") as resp:
        doc = await resp.json()
    assert {"/v1/assets", "/v1/assets/uploads", "/v1/assets/{id}/complete", "/v1/assets/{id}",
            "/v1/assets/{id}/content", "/v1/assets/{id}/thumbnail"} <= set(doc["paths"])
    assert "413" in doc["paths"]["/v1/assets"]["post"]["responses"]
