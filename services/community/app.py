"""Application factory of the community service."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.community.settings import CommunitySettings
from shared.messaging.rpc import RpcServer
from shared.resources import NC, database_ctx, nats_ctx, outbox_relay_ctx, rpc_ctx
from shared.web import create_base_app

SCHEMA = "community"
MIGRATIONS = Path(__file__).with_name("migrations")


def build_rpc(app: web.Application) -> RpcServer:
    return RpcServer(app[NC], SCHEMA)


async def create_app(settings: CommunitySettings) -> web.Application:
    app = create_base_app()
    app.cleanup_ctx.append(database_ctx(settings, SCHEMA, MIGRATIONS))
    app.cleanup_ctx.append(nats_ctx(settings))
    app.cleanup_ctx.append(outbox_relay_ctx(SCHEMA))
    app.cleanup_ctx.append(rpc_ctx(build_rpc))
    return app
