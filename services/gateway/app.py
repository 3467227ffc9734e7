"""Application factory of the gateway."""

from __future__ import annotations

from aiohttp import web

from services.gateway import routes
from services.gateway.auth import PUBLIC_KEY, auth_middleware, load_public_key
from services.gateway.health import services_status
from services.gateway.http import RPC_TIMEOUT
from services.gateway.openapi import openapi_json
from services.gateway.settings import GatewaySettings
from shared.resources import nats_ctx
from shared.web import create_base_app

SETTINGS = web.AppKey("settings", GatewaySettings)


async def create_app(settings: GatewaySettings) -> web.Application:
    app = create_base_app(client_max_size=settings.request_body_max_bytes, middlewares=[auth_middleware])
    app[SETTINGS] = settings
    app[PUBLIC_KEY] = load_public_key(settings.jwt_public_key_file)
    app[RPC_TIMEOUT] = settings.rpc_timeout_s
    app.cleanup_ctx.append(nats_ctx(settings))
    app.router.add_get("/v1/status", services_status)
    app.router.add_get("/v1/openapi.json", openapi_json)
    for module in routes.MODULES:
        module.setup(app)
    return app
