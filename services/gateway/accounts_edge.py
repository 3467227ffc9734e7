"""The account routes that need more than forwarding: the caller's address for the login guard, and
the streamed export archive.

- `POST /v1/auth/login`, `DELETE /v1/me`, `POST /v1/me/password` pass the client's address
  (`client_address`, `ATELIER_FORWARDED_HOPS` behind an ingress) to community, which throttles
  password checks per account and client (services/community/login_guard.py); its 429 comes back
  with `retry_after_s`, sent on as `Retry-After`.
- `GET /v1/me/export`: a zip, streamed while it is written: `profile.json`, `works.json`,
  `comments.json`, `likes.json`, `collections.json`, `following.json`, `assets.json` and every
  original file under `assets/`. The JSON parts are read first (a failing service is still a clean
  503); the files then stream one chunk at a time from the object store. A file that cannot be read
  mid-way is listed in `missing_assets.json` instead (the status line has gone out by then).
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from services.gateway.auth import current_user, require_user
from services.gateway.openapi import BEARER, problem
from services.gateway.parsing import read_body
from services.gateway.ratelimit import client_address
from services.gateway.routing import Route
from services.gateway.store_http import CHUNK, HTTP_CLIENT
from shared.contexts import NC
from shared.contracts import assets as a
from shared.contracts import community as c
from shared.errors import AtelierError, TooManyRequests
from shared.logging import get_logger
from shared.messaging.rpc import call, call_raw

log = get_logger(__name__)
EXPORT_SECTIONS: tuple[c.ExportSection, ...] = ("works", "comments", "likes", "collections", "following")
EXPORT_PATH = "/v1/me/export"


def with_client_address(route: Route, forwarded_hops: int) -> Callable[[web.Request], Any]:
    """A route-table handler that also tells the service who the client is."""

    async def handle(request: web.Request) -> web.StreamResponse:
        if route.needs_token:
            require_user(request)
        payload: dict[str, Any] = {}
        if route.body is not None:
            payload = (await read_body(request, route.body)).model_dump(mode="json")
        user = current_user(request) if route.op.actor != "none" else None
        try:
            raw = await call_raw(request.app[NC], route.op, payload, actor_id=user.id if user else None,
                                 headers={c.CLIENT_ADDRESS_HEADER: client_address(request, forwarded_hops)})
        except TooManyRequests as exc:
            wait = exc.extra.get("retry_after_s")
            exc.headers["Retry-After"] = str(wait if isinstance(wait, int) and wait > 0 else 1)
            raise
        if route.status == 204:
            return web.Response(status=204)
        return web.Response(body=raw, status=route.status, content_type="application/json")

    return handle


class _Sink(io.RawIOBase):
    """What zipfile writes into; the handler drains it to the response after each step."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        return len(data)

    def take(self) -> bytes:
        out = bytes(self._buffer)
        self._buffer.clear()
        return out


def _entry(name: str, *, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


async def _section(request: web.Request, user_id: str, section: c.ExportSection) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = await call(request.app[NC], c.USERS_EXPORT, {"section": section, "after": after, "limit": 500},
                          actor_id=user_id)
        items.extend(page.items)
        if page.next_after is None:
            return items
        after = page.next_after


async def _assets(request: web.Request, user_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = await call(request.app[NC], a.OWNED, {"after": after, "limit": 500}, actor_id=user_id)
        items.extend(item.model_dump(mode="json") for item in page.items)
        if page.next_after is None:
            return items
        after = page.next_after


async def export(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    nc = request.app[NC]
    profile = await call(nc, c.USERS_ME, {}, actor_id=user.id)
    parts: dict[str, Any] = {"profile": profile.model_dump(mode="json")}
    for section in EXPORT_SECTIONS:
        parts[section] = await _section(request, user.id, section)
    assets = await _assets(request, user.id)
    parts["assets"] = assets

    day = time.strftime("%Y%m%d", time.gmtime())
    response = web.StreamResponse(status=200, headers={
        "Content-Disposition": f'attachment; filename="atelier-export-{profile.username}-{day}.zip"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
    })
    response.content_type = "application/zip"
    await response.prepare(request)
    sink = _Sink()
    missing: list[dict[str, str]] = []
    with zipfile.ZipFile(sink, "w") as archive:
        for name, value in parts.items():
            archive.writestr(_entry(f"{name}.json", compress=True), orjson.dumps(value, option=orjson.OPT_INDENT_2))
            await response.write(sink.take())
        for asset in assets:
            problem = await _copy_asset(request, user.id, asset["id"], archive, sink, response)
            if problem is not None:
                missing.append({"asset_id": asset["id"], "error": problem})
        if missing:
            archive.writestr(_entry("missing_assets.json", compress=True), orjson.dumps(missing))
    await response.write(sink.take())
    await response.write_eof()
    log.info("gateway.export.sent", works=len(parts["works"]), assets=len(assets), missing=len(missing))
    return response


async def _copy_asset(request: web.Request, user_id: str, asset_id: str, archive: zipfile.ZipFile, sink: _Sink,
                      response: web.StreamResponse) -> str | None:
    """Stream one original into the archive; returns why it could not be, or None."""
    try:
        info = await call(request.app[NC], a.CONTENT_URL, {"id": asset_id, "variant": "content"}, actor_id=user_id)
    except AtelierError as exc:
        return exc.detail
    session = request.app[HTTP_CLIENT]
    try:
        async with session.get(info.url) as upstream:
            if upstream.status != 200:
                return f"the object store answered {upstream.status}"
            with archive.open(_entry(f"assets/{info.filename}", compress=False), "w", force_zip64=True) as dest:
                async for chunk in upstream.content.iter_chunked(CHUNK):
                    dest.write(chunk)
                    await response.write(sink.take())
    except (aiohttp.ClientError, TimeoutError) as exc:
        # The entry may be partly written: it stays (a truncated file is listed as missing too).
        return f"the object store could not be read: {type(exc).__name__}"
    await response.write(sink.take())
    return None


def export_doc() -> dict[str, Any]:
    return {
        "summary": "Download all your data: a zip of your profile, works, comments, likes, collections and "
                   "follows as JSON, with the original files of your assets",
        "operationId": "exportMyData", "security": BEARER,
        "responses": {
            "200": {"description": "the archive, streamed (Content-Disposition: attachment)",
                    "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
            "401": problem("missing, invalid or revoked token"),
            "503": problem("a service behind the gateway is unavailable"),
            "504": problem("a service behind the gateway did not answer in time"),
        },
    }
