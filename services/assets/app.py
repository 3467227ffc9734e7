"""Application factory of the assets service."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from services.assets import rpc
from services.assets.events import build_consumers
from services.assets.service import SCHEMA, AssetService
from services.assets.settings import AssetsSettings
from shared.contexts import DB, NC, CleanupCtx, consumers_ctx, owned_data_ctxs, rpc_ctx
from shared.logging import get_logger
from shared.objectstore import ObjectStore
from shared.web import add_readiness_check, create_base_app

log = get_logger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
SERVICE = web.AppKey("assets_service", AssetService)
SWEEP_INTERVAL_S = 3600.0

__all__ = ["MIGRATIONS", "SCHEMA", "create_app"]


def services_ctx(settings: AssetsSettings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        objects = ObjectStore(settings, workers=8, public_endpoint=settings.s3_public_endpoint)
        app[SERVICE] = AssetService(settings, app[DB], objects, app[NC])

        add_readiness_check(app, "s3", objects.reachable)
        try:
            yield
        finally:
            app[SERVICE].close()
            objects.close()

    return ctx


def sweeper_ctx(settings: AssetsSettings) -> CleanupCtx:
    """Delete staged uploads that were never completed (a presigned PUT cannot be taken back)."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async def sweep() -> None:
            while True:
                try:
                    removed = await app[SERVICE].objects.delete_older_than("staging/", settings.staging_max_age_s)
                    if removed:
                        log.info("assets.staging.swept", removed=removed)
                except Exception as exc:
                    log.warning("assets.staging.sweep_failed", error=str(exc))
                await asyncio.sleep(SWEEP_INTERVAL_S)

        task = asyncio.create_task(sweep(), name="assets-staging-sweeper")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return ctx


async def create_app(settings: AssetsSettings) -> web.Application:
    app = create_base_app()
    app.cleanup_ctx.extend(owned_data_ctxs(settings, SCHEMA, MIGRATIONS))
    app.cleanup_ctx.append(services_ctx(settings))
    app.cleanup_ctx.append(rpc_ctx(settings, rpc.register, SERVICE))
    app.cleanup_ctx.append(consumers_ctx(build_consumers, stop_timeout_s=settings.shutdown.work_s))
    app.cleanup_ctx.append(sweeper_ctx(settings))
    return app
