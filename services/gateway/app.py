"""Application factory of the gateway."""

from __future__ import annotations

from aiohttp import web

from services.gateway.health import services_status
from services.gateway.openapi import openapi_json
from services.gateway.settings import GatewaySettings
from shared.resources import nats_ctx
from shared.web import create_base_app


async def create_app(settings: GatewaySettings) -> web.Application:
    app = create_base_app(client_max_size=settings.request_body_max_bytes)
    app.cleanup_ctx.append(nats_ctx(settings))
    app.router.add_get("/v1/status", services_status)
    app.router.add_get("/v1/openapi.json", openapi_json)
    return app
