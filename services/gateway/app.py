"""Application factory of the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from aiohttp import web

from services.gateway import asyncapi, internal_site, quotas, routes, webapp
from services.gateway.auth import VERIFIER, TokenVerifier, auth_middleware, load_public_key
from services.gateway.cors import CorsPolicy, cors_middleware, install_cors
from services.gateway.health import report_services
from services.gateway.idempotency import IDEMPOTENCY_STORE, idempotency_middleware
from services.gateway.idempotency_store import MemoryIdempotencyStore, NatsIdempotencyStore
from services.gateway.live import ws as live
from services.gateway.openapi import document
from services.gateway.ratelimit import ip_rate_limit_middleware, user_rate_limit_middleware
from services.gateway.revocations import REVOCATIONS, Revocations, revocations_ctx
from services.gateway.settings import GatewaySettings
from services.gateway.shared_ratelimit import shared_ip_rate_limit_middleware, shared_user_rate_limit_middleware
from shared.contexts import JS, NC, CleanupCtx, nats_ctx
from shared.web import create_base_app

SETTINGS = web.AppKey("settings", GatewaySettings)
OPENAPI = web.AppKey("openapi", bytes)
ASYNCAPI = web.AppKey("asyncapi", bytes)
ASYNCAPI_HTML = web.AppKey("asyncapi_html", str)


def edge_middlewares(settings: GatewaySettings, cors: CorsPolicy) -> list[object]:
    """In order: CORS preflight (no token), per-IP limit (before auth, so bad tokens count), auth,
    per-user limit, idempotent replay (needs the user)."""
    middlewares: list[object] = [cors_middleware(cors)]
    shared = settings.rate_limit_backend == "nats"
    if settings.rate_limit_enabled:
        middlewares.append(shared_ip_rate_limit_middleware(settings) if shared else ip_rate_limit_middleware(settings))
    middlewares.append(auth_middleware)
    if settings.rate_limit_enabled:
        middlewares.append(shared_user_rate_limit_middleware(settings) if shared
                           else user_rate_limit_middleware(settings))
    middlewares.append(idempotency_middleware(settings.idempotency_max_response_bytes))
    return middlewares


def idempotency_ctx(settings: GatewaySettings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        if settings.idempotency_backend == "nats":
            app[IDEMPOTENCY_STORE] = await NatsIdempotencyStore.open(
                app[JS], settings.idempotency_bucket, settings.idempotency_ttl_s, settings.idempotency_pending_s,
                nc=app[NC], replicas=settings.nats_replicas)
        else:
            app[IDEMPOTENCY_STORE] = MemoryIdempotencyStore(settings.idempotency_ttl_s, settings.idempotency_pending_s)
        yield

    return ctx


async def create_app(settings: GatewaySettings) -> web.Application:
    cors = CorsPolicy(settings.cors_origins, settings.cors_max_age_s)
    app = create_base_app(client_max_size=settings.request_body_max_bytes,
                          middlewares=edge_middlewares(settings, cors), metrics_route=False)
    install_cors(app, cors)
    app[SETTINGS] = settings
    app[REVOCATIONS] = Revocations()
    app[VERIFIER] = TokenVerifier(load_public_key(settings.jwt_public_key_file), revocations=app[REVOCATIONS])
    app.cleanup_ctx.append(nats_ctx(settings))
    app.cleanup_ctx.append(idempotency_ctx(settings))
    app.cleanup_ctx.append(revocations_ctx())
    quotas.setup(app, settings)
    live.setup(app, settings)
    internal_site.setup(app, settings)  # /metrics and /v1/status, off the public port
    report_services(app)
    webapp.setup(app)
    for module in routes.MODULES:
        module.setup(app, settings)
    app[OPENAPI] = orjson.dumps(openapi_document())
    app.router.add_get("/v1/openapi.json", openapi_json)
    events_doc = asyncapi.document()
    app[ASYNCAPI] = orjson.dumps(events_doc)
    app[ASYNCAPI_HTML] = asyncapi.render_html(events_doc)
    app.router.add_get("/v1/asyncapi.json", asyncapi_json)
    app.router.add_get("/docs/events", asyncapi_page)
    return app


def openapi_document() -> dict[str, object]:
    """The OpenAPI document of every route this gateway serves (built once per app)."""
    return document(routes.MODULES)


async def openapi_json(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI], content_type="application/json")


async def asyncapi_json(request: web.Request) -> web.Response:
    return web.Response(body=request.app[ASYNCAPI], content_type="application/json")


async def asyncapi_page(request: web.Request) -> web.Response:
    return web.Response(text=request.app[ASYNCAPI_HTML], content_type="text/html")
