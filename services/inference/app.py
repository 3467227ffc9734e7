"""Application factory of the inference service."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiohttp import web

from services.inference import rpc
from services.inference.backends import GeneratorBackend
from services.inference.backends.onnx_local import OnnxLocalBackend
from services.inference.backends.triton import TritonBackend
from services.inference.catalog import ModelCatalog
from services.inference.credentials import load_credentials
from services.inference.events import SCHEMA, build_consumers
from services.inference.generations import InferenceService
from services.inference.model_repository import ModelRepository
from services.inference.provenance import Signer, Verifier
from services.inference.settings import InferenceSettings
from services.inference.trainer_records import TrainerRecords
from services.inference.worker import GenerationWorker
from shared.contexts import DB, JS, NC, CleanupCtx, consumers_ctx, owned_data_ctxs, rpc_ctx
from shared.messaging.consumer import JetStreamConsumer
from shared.objectstore import ObjectStore
from shared.web import add_readiness_check, create_base_app

MIGRATIONS = Path(__file__).with_name("migrations")
SERVICE = web.AppKey("inference_service", InferenceService)
WORKER = web.AppKey("inference_worker", GenerationWorker)
CATALOG = web.AppKey("inference_catalog", ModelCatalog)

__all__ = ["MIGRATIONS", "SCHEMA", "create_app"]


def build_backend(settings: InferenceSettings) -> GeneratorBackend:
    """The generator runtime; built inside the running loop (the gRPC aio client binds to it)."""
    if settings.inference_backend == "onnx_local":
        return OnnxLocalBackend(max_loaded=settings.inference_max_loaded_models)
    return TritonBackend(
        settings.triton_url or None, settings.triton_admin_token.get_secret_value(),
        http_url=settings.triton_http_url or None, timeout_s=settings.triton_timeout_s,
        load_timeout_s=settings.triton_load_timeout_s, model_backend=settings.triton_model_backend,
        max_loaded=settings.inference_max_loaded_models, instances=settings.triton_instances,
        intra_op_threads=settings.triton_intra_op_threads, max_queue_delay_us=settings.triton_max_queue_delay_us,
        instance_kind=settings.triton_instance_kind, execution_provider=settings.triton_execution_provider,
    )


def components_ctx(settings: InferenceSettings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        credentials = load_credentials(settings)
        signer = Signer(credentials.chain_pem, credentials.key_pem)
        verifier = Verifier(credentials.trust_anchors_pem)
        backend = build_backend(settings)
        objects = ObjectStore(settings)
        repository = ModelRepository(objects)
        # Encoding, watermarking, signing and verifying: CPU work, off the event loop.
        executor = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="render")
        catalog = ModelCatalog(app[DB], backend, repository, TrainerRecords(app[NC], settings.trainer_timeout_s))
        app[CATALOG] = catalog
        app[SERVICE] = InferenceService(settings, app[DB], app[NC], catalog, verifier, executor)
        app[WORKER] = GenerationWorker(settings, app[DB], app[NC], catalog, backend, signer, executor)
        # Triton's *live* endpoint: its ready endpoint turns false during every model (re)load.
        add_readiness_check(app, settings.inference_backend, backend.ready)
        add_readiness_check(app, "s3", objects.reachable)
        try:
            yield
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
            await backend.close()
            objects.close()
            signer.close()
            verifier.close()

    return ctx


async def create_app(settings: InferenceSettings) -> web.Application:
    def consumers(app: web.Application) -> list[JetStreamConsumer]:
        return build_consumers(app[NC], app[JS], app[CATALOG], app[WORKER], settings.inference_workers,
                               settings.generate_max_deliver, batch=settings.generate_batch_jobs,
                               linger_s=settings.generate_batch_linger_ms / 1000,
                               batch_images=settings.inference_max_batch_images,
                               ack_wait_s=settings.generate_ack_wait_s)

    app = create_base_app()
    app.cleanup_ctx.extend(owned_data_ctxs(settings, SCHEMA, MIGRATIONS))
    app.cleanup_ctx.append(components_ctx(settings))
    app.cleanup_ctx.append(rpc_ctx(settings, rpc.register, SERVICE))
    app.cleanup_ctx.append(consumers_ctx(consumers, stop_timeout_s=settings.shutdown.work_s))
    return app
