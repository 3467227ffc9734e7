"""Application factory of the trainer service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web

from services.trainer import consent, rpc
from services.trainer.advice import Advisor
from services.trainer.events import train_jobs_consumer
from services.trainer.seeds import SeedFinder
from services.trainer.service import ModelService
from services.trainer.settings import TrainerSettings
from services.trainer.worker import TrainWorker
from shared.contexts import DB, JS, NC, CleanupCtx, consumers_ctx, owned_data_ctxs, rpc_ctx
from shared.messaging.consumer import JetStreamConsumer
from shared.objectstore import ObjectStore
from shared.web import add_readiness_check, create_base_app

SCHEMA = "trainer"
MIGRATIONS = Path(__file__).with_name("migrations")
SERVICE = web.AppKey("trainer_service", ModelService)
WORKER = web.AppKey("trainer_worker", TrainWorker)


def components_ctx(settings: TrainerSettings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        objects = ObjectStore(settings)
        await objects.ensure_bucket()
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=settings.download_timeout_s))
        app[SERVICE] = ModelService(settings, app[DB], app[NC], objects)
        app[SERVICE].advisor = Advisor(settings, app[DB], app[NC], http)
        app[SERVICE].seeds = SeedFinder(app[DB], objects)
        app[WORKER] = TrainWorker(settings, app[DB], app[NC], app[JS], objects, http)
        add_readiness_check(app, "s3", objects.reachable)
        try:
            yield
        finally:
            await http.close()
            objects.close()

    return ctx


async def create_app(settings: TrainerSettings) -> web.Application:
    def consumers(app: web.Application) -> list[JetStreamConsumer]:
        worker = app[WORKER]
        return [train_jobs_consumer(settings, app[NC], app[JS], worker.handle, worker.on_dead_letter),
                *consent.build_consumers(app[NC], app[JS], app[DB])]

    async def stop_training(app: web.Application) -> None:
        # on_shutdown runs before the cleanup contexts: the job in flight checkpoints and is
        # nak'ed while the consumer waits for it, well inside the shutdown budget.
        app[WORKER].shutdown()

    app = create_base_app()
    app.cleanup_ctx.extend(owned_data_ctxs(settings, SCHEMA, MIGRATIONS))
    app.cleanup_ctx.append(components_ctx(settings))
    app.cleanup_ctx.append(rpc_ctx(settings, rpc.register, SERVICE))
    app.cleanup_ctx.append(consumers_ctx(consumers, stop_timeout_s=settings.shutdown.work_s))
    app.on_shutdown.append(stop_training)
    return app
