"""Accounts that end, through the gateway: DELETE /v1/me removes what the user made (PostgreSQL and
the object store), their token is refused within a second (also by a gateway started afterwards),
a password change revokes earlier tokens, and GET /v1/me/export is a zip of what the user made."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import secrets
import time
import zipfile
from typing import Any

import aiohttp
import asyncpg
from PIL import Image

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from shared.objectstore import ObjectStore
from shared.settings import S3Settings
from tests.support.members import PASSWORD, Member, sign_up


async def _refused_within(member: Member, method: str, path: str, limit_s: float = 1.0, **kwargs: Any) -> float:
    """Seconds after which `member`'s token got a 401 (when the refused request was sent); fails if
    a request sent `limit_s` or more after the start was still accepted."""
    began = time.monotonic()
    headers = {**member.headers, **kwargs.pop("headers", {})}
    while True:
        sent = time.monotonic() - began
        async with member.http.request(method, path, headers=headers, **kwargs) as resp:
            if resp.status == 401:
                body = await resp.json(content_type=None)
                assert "revoked" in body["detail"], body
                return sent
        assert sent < limit_s, f"{method} {path} sent {sent:.2f} s after the change still accepted the token"
        await asyncio.sleep(0.02)


async def _png_upload(member: Member) -> tuple[str, bytes]:
    buf = io.BytesIO()
    Image.frombytes("RGB", (16, 16), secrets.token_bytes(16 * 16 * 3)).save(buf, "PNG")
    asset = await member.call("POST", "/v1/assets", 201, data=buf.getvalue(),
                              headers={**member.headers, "Content-Type": "image/png"})
    return str(asset["id"]), buf.getvalue()


async def test_deleting_an_account_removes_its_data_and_refuses_its_token(
        http: aiohttp.ClientSession, endpoints: Any, aiohttp_client: Any) -> None:
    leaving, staying = await sign_up(http, "leave_"), await sign_up(http, "stay_")
    public = await leaving.publish("Goodbye", visibility="public")
    private = await leaving.publish("Diary", visibility="private")
    loose_asset, _ = await _png_upload(leaving)
    collection = await leaving.call("POST", "/v1/collections", 201,
                                    json={"title": "Mine", "work_ids": [public["id"], private["id"]]})
    theirs = await staying.publish("Still here")
    await leaving.call("PUT", f"/v1/works/{theirs['id']}/like", 204)
    await leaving.call("POST", f"/v1/works/{theirs['id']}/comments", 201, json={"body": "lovely"})
    await staying.call("PUT", f"/v1/works/{public['id']}/like", 204)
    before = await staying.call("GET", f"/v1/works/{theirs['id']}", 200)
    assert before["like_count"] == 1 and before["comment_count"] == 1

    # Bad requests change nothing.
    await leaving.call("DELETE", "/v1/me", 403, json={"password": "wrong password!"})
    await leaving.call("DELETE", "/v1/me", 422, json={})
    await leaving.call("DELETE", "/v1/me", 400, data=b"{", headers={**leaving.headers,
                                                                     "Content-Type": "application/json"})
    await leaving.call("GET", "/v1/me", 200)

    await leaving.call("DELETE", "/v1/me", 204, json={"password": PASSWORD})
    # Assets does not know users: without revocation its upload would still work with this token.
    took = await _refused_within(leaving, "POST", "/v1/assets", data=b"\x89PNG", headers={"Content-Type": "image/png"})
    assert took < 1.0
    await leaving.call("GET", "/v1/me", 401)
    async with http.post("/v1/auth/login", json={"login": leaving.username, "password": PASSWORD}) as resp:
        assert resp.status == 401

    # What others see: the user, their works and collection are gone; counters on others' works corrected.
    await staying.call("GET", f"/v1/users/{leaving.username}", 404)
    for work in (public, private):
        await staying.call("GET", f"/v1/works/{work['id']}", 404)
    await staying.call("GET", f"/v1/collections/{collection['id']}", 404)
    after = await staying.call("GET", f"/v1/works/{theirs['id']}", 200)
    assert after["like_count"] == 0 and after["comment_count"] == 0
    assert (await staying.call("GET", f"/v1/works/{theirs['id']}/comments", 200))["items"] == []

    # PostgreSQL and the object store hold nothing of the user once assets has handled the event.
    asset_ids = [*public["asset_ids"], *private["asset_ids"], loose_asset]
    conn = await asyncpg.connect(endpoints.database_url, timeout=10)
    objects = ObjectStore(S3Settings(s3_endpoint=endpoints.s3_endpoint, s3_access_key=endpoints.s3_access_key,
                                     s3_secret_key=endpoints.s3_secret_key, s3_bucket=endpoints.s3_bucket))
    try:
        assert await conn.fetchval("SELECT count(*) FROM community.users WHERE id = $1", leaving.id) == 0
        for table, column in (("works", "author_id"), ("likes", "user_id"), ("comments", "author_id"),
                              ("collections", "owner_id"), ("follows", "follower_id")):
            assert await conn.fetchval(f"SELECT count(*) FROM community.{table} WHERE {column} = $1",
                                       leaving.id) == 0, table
        deadline = time.monotonic() + 15
        while await conn.fetchval("SELECT count(*) FROM assets.assets WHERE owner_id = $1", leaving.id):
            assert time.monotonic() < deadline, "assets still holds the deleted user's assets"
            await asyncio.sleep(0.2)
        for asset_id in asset_ids:
            assert await objects.size(f"originals/{leaving.id}/{asset_id}") is None
            assert await objects.size(f"thumbnails/{leaving.id}/{asset_id}.webp") is None
        assert await objects.size(f"originals/{staying.id}/{theirs['asset_ids'][0]}") is not None
    finally:
        await conn.close()
        objects.close()
    await staying.call("GET", f"/v1/assets/{public['asset_ids'][0]}", 404)

    # A gateway started now learns the revocation from the stream before it serves.
    fresh = await aiohttp_client(await create_app(GatewaySettings(
        nats_url=endpoints.nats_url, jwt_public_key_file=endpoints.jwt_public_key_file)))
    async with fresh.get("/v1/me", headers=leaving.headers) as resp:
        assert resp.status == 401 and "revoked" in (await resp.json())["detail"]
    async with fresh.get("/v1/me", headers=staying.headers) as resp:
        assert resp.status == 200


async def test_changing_the_password_revokes_earlier_tokens_only(http: aiohttp.ClientSession) -> None:
    member = await sign_up(http, "pw_")
    async with http.post("/v1/auth/login", json={"login": member.username, "password": PASSWORD}) as resp:
        other_device = Member(http, await resp.json())
    await member.call("POST", "/v1/me/password", 403, json={"current": "not it at all", "new": "a new secret 42"})
    await member.call("POST", "/v1/me/password", 422, json={"current": PASSWORD, "new": "short"})
    await member.call("GET", "/v1/me", 200)  # nothing changed

    session = await member.call("POST", "/v1/me/password", 200, json={"current": PASSWORD, "new": "a new secret 42"})
    renewed = Member(http, session)
    assert await _refused_within(member, "GET", "/v1/me") < 1.0
    assert await _refused_within(other_device, "GET", "/v1/me") < 1.0
    await renewed.call("GET", "/v1/me", 200)  # the token that came with the change works
    async with http.post("/v1/auth/login", json={"login": member.username, "password": PASSWORD}) as resp:
        assert resp.status == 401
    async with http.post("/v1/auth/login", json={"login": member.username, "password": "a new secret 42"}) as resp:
        assert resp.status == 200
        await Member(http, await resp.json()).call("GET", "/v1/me", 200)


async def test_export_is_a_zip_of_what_the_user_made(http: aiohttp.ClientSession) -> None:
    member, other = await sign_up(http, "exp_"), await sign_up(http, "exp_")
    asset_id, png = await _png_upload(member)
    work = await member.call("POST", "/v1/works", 201, json={"title": "Mine", "asset_ids": [asset_id],
                                                            "visibility": "private"})
    loose_id, loose_png = await _png_upload(member)
    theirs = await other.publish("Theirs")
    await member.call("PUT", f"/v1/works/{theirs['id']}/like", 204)
    await member.call("POST", f"/v1/works/{theirs['id']}/comments", 201, json={"body": "nice one"})
    await member.call("POST", "/v1/collections", 201, json={"title": "Picks", "work_ids": [theirs["id"]]})
    await member.call("PUT", f"/v1/users/{other.username}/follow", 204)

    async with http.get("/v1/me/export") as resp:
        assert resp.status == 401
    async with http.get("/v1/me/export", headers=member.headers) as resp:
        assert resp.status == 200 and resp.content_type == "application/zip"
        disposition = resp.headers["Content-Disposition"]
        assert disposition.startswith("attachment;") and member.username in disposition
        assert resp.headers.get("Transfer-Encoding") == "chunked"  # streamed, not buffered
        archive = zipfile.ZipFile(io.BytesIO(await resp.read()))
    assert archive.testzip() is None

    def part(name: str) -> Any:
        return json.loads(archive.read(name))

    assert part("profile.json")["username"] == member.username
    assert [w["id"] for w in part("works.json")] == [work["id"]]  # private works included
    assert [c["body"] for c in part("comments.json")] == ["nice one"]
    assert [like["work_id"] for like in part("likes.json")] == [theirs["id"]]
    assert part("collections.json")[0]["work_ids"] == [theirs["id"]]
    assert [f["username"] for f in part("following.json")] == [other.username]
    assert {a["id"] for a in part("assets.json")} == {asset_id, loose_id}
    files = {name for name in archive.namelist() if name.startswith("assets/")}
    assert files == {f"assets/{asset_id}.png", f"assets/{loose_id}.png"}
    stored = {asset_id: png, loose_id: loose_png}
    for aid, original in stored.items():
        data = archive.read(f"assets/{aid}.png")
        # Uploads are re-encoded only to strip metadata; the archive holds what the store holds.
        assert hashlib.sha256(data).hexdigest() == next(a["sha256"] for a in part("assets.json") if a["id"] == aid)
        assert data[:8] == original[:8]
    assert "missing_assets.json" not in archive.namelist()
