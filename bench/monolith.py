"""The monolith baseline: one aiohttp process with asyncpg serving `GET /v1/feed` and
`GET /v1/works/{id}` with the same work as gateway → NATS → community, minus the hops.

Same token check (the gateway's `TokenVerifier` and auth middleware), same request parsing
(community's `Page`), same queries and JSON shapes (community's own `feeds.following` /
`works.get`, which call services/community/store/*.py and views.py), same pool settings and the
same orjson encoding the RPC layer uses. Started by bench_community as its own process:

    python -m bench.monolith   (ATELIER_DATABASE_URL, ATELIER_JWT_PUBLIC_KEY_FILE and
                                ATELIER_JWT_PRIVATE_KEY_FILE for community's cursor secret;
                                prints {"url": ...})
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiohttp import web
from pydantic import ValidationError

from services.community import feeds, works
from services.community.cursors import CursorCodec, derive_secret
from services.gateway.auth import VERIFIER, TokenVerifier, auth_middleware, current_user, require_user
from shared.contracts.common import Page
from shared.db import create_pool
from shared.errors import AtelierError
from shared.settings import DatabaseSettings

POOL = web.AppKey("pool", asyncpg.Pool)
DEPS = web.AppKey("deps", object)


@dataclass(frozen=True)
class ReadDeps:
    """The part of community's `Deps` its read paths touch."""

    pool: asyncpg.Pool
    cursors: CursorCodec


def _json(data: Any) -> web.Response:
    return web.Response(body=orjson.dumps(data, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS),
                        content_type="application/json")


@web.middleware
async def problems(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except AtelierError as exc:
        return web.Response(body=json.dumps(exc.to_problem(request.path)), status=exc.status,
                            content_type="application/problem+json")
    except ValidationError:
        return web.Response(body=json.dumps({"title": "Bad request", "status": 400}), status=400,
                            content_type="application/problem+json")


async def feed(request: web.Request) -> web.Response:
    user = require_user(request)
    page = Page.model_validate(dict(request.query))
    return _json(await feeds.following(request.app[DEPS], user.id, page))  # type: ignore[arg-type]


async def work(request: web.Request) -> web.Response:
    user = current_user(request)
    return _json(await works.get(request.app[DEPS], user.id if user else None,  # type: ignore[arg-type]
                                 request.match_info["id"]))


def create_app(database_url: str, public_key_pem: str, cursor_secret: bytes) -> web.Application:
    app = web.Application(middlewares=[problems, auth_middleware])
    app[VERIFIER] = TokenVerifier(public_key_pem)

    async def pool_ctx(app: web.Application) -> AsyncIterator[None]:
        pool = await create_pool(DatabaseSettings(database_url=database_url), schema="community")
        app[POOL] = pool
        app[DEPS] = ReadDeps(pool, CursorCodec(cursor_secret))
        yield
        await pool.close()

    app.cleanup_ctx.append(pool_ctx)
    app.router.add_get("/v1/feed", feed)
    app.router.add_get("/v1/works/{id}", work)
    return app


async def serve(database_url: str, public_key_pem: str, cursor_secret: bytes) -> None:
    app = create_app(database_url, public_key_pem, cursor_secret)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    print(json.dumps({"url": f"http://127.0.0.1:{sock.getsockname()[1]}"}), flush=True)
    try:
        await asyncio.Event().wait()  # until SIGTERM
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    try:
        asyncio.run(serve(os.environ["ATELIER_DATABASE_URL"],
                          Path(os.environ["ATELIER_JWT_PUBLIC_KEY_FILE"]).read_text(),
                          derive_secret(Path(os.environ["ATELIER_JWT_PRIVATE_KEY_FILE"]).read_bytes())))
    except KeyboardInterrupt:
        sys.exit(0)
