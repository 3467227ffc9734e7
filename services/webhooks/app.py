"""Application factory of the webhooks service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from services.webhooks import rpc
from services.webhooks.dispatcher import Dispatcher, client_session
from services.webhooks.endpoints import Endpoints
from services.webhooks.events import Fanout, build_consumers
from services.webhooks.settings import WebhooksSettings
from shared.contexts import DB, JS, NC, CleanupCtx, consumers_ctx, owned_data_ctxs, rpc_ctx
from shared.messaging.consumer import JetStreamConsumer
from shared.web import create_base_app

SCHEMA = "webhooks"
MIGRATIONS = Path(__file__).with_name("migrations")
ENDPOINTS = web.AppKey("webhook_endpoints", Endpoints)
DISPATCHER = web.AppKey("webhook_dispatcher", Dispatcher)


def dispatcher_ctx(settings: WebhooksSettings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        session = client_session(settings)
        dispatcher = Dispatcher(settings, app[DB], session)
        app[DISPATCHER] = dispatcher
        app[ENDPOINTS] = Endpoints(settings, app[DB], dispatcher.wake)
        dispatcher.start()
        try:
            yield
        finally:
            await dispatcher.stop(settings.shutdown.work_s)
            await session.close()

    return ctx


async def create_app(settings: WebhooksSettings) -> web.Application:
    def consumers(app: web.Application) -> list[JetStreamConsumer]:
        return build_consumers(settings, app[NC], app[JS], Fanout(app[DB], app[DISPATCHER].wake))

    app = create_base_app()
    app.cleanup_ctx.extend(owned_data_ctxs(settings, SCHEMA, MIGRATIONS))
    app.cleanup_ctx.append(dispatcher_ctx(settings))
    app.cleanup_ctx.append(rpc_ctx(settings, rpc.register, ENDPOINTS))
    app.cleanup_ctx.append(consumers_ctx(consumers, stop_timeout_s=settings.shutdown.work_s))
    return app
