"""Application factory of the market service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from services.market import certificates, events, rpc
from services.market.licences import Licences
from services.market.payments import Payments
from services.market.settings import MarketSettings
from services.market.sweeper import Sweeper
from shared.contexts import DB, JS, NC, CleanupCtx, consumers_ctx, owned_data_ctxs, rpc_ctx
from shared.messaging.consumer import JetStreamConsumer
from shared.web import create_base_app

SCHEMA = "market"
MIGRATIONS = Path(__file__).with_name("migrations")
MARKET = web.AppKey("market", rpc.Market)


def components_ctx(settings: MarketSettings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        key = await asyncio.to_thread(certificates.load_key, settings)
        signer = certificates.Signer(key)
        app[MARKET] = rpc.Market(Payments(settings, app[DB], app[NC]),
                                 Licences(settings, app[DB], app[NC], signer))
        sweeper = Sweeper(app[MARKET].payments)
        sweeper.start()
        try:
            yield
        finally:
            await sweeper.stop()

    return ctx


async def create_app(settings: MarketSettings) -> web.Application:
    def consumers(app: web.Application) -> list[JetStreamConsumer]:
        return events.build_consumers(settings, app[NC], app[JS], app[MARKET].payments)

    app = create_base_app()
    app.cleanup_ctx.extend(owned_data_ctxs(settings, SCHEMA, MIGRATIONS))
    app.cleanup_ctx.append(components_ctx(settings))
    app.cleanup_ctx.append(rpc_ctx(settings, rpc.register, MARKET))
    app.cleanup_ctx.append(consumers_ctx(consumers, stop_timeout_s=settings.shutdown.work_s))
    return app
