"""The `jobs.generate` worker: latents → one batch through the runtime → sign → store → announce.

Idempotent on redelivery: a finished generation is acked without work; outputs already stored by
an earlier, interrupted attempt are kept and only the missing ones are made.
"""

from __future__ import annotations

import asyncio
import base64
import functools
from concurrent.futures import Executor
from dataclasses import dataclass

import asyncpg
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from services.inference import latents, store, watermark
from services.inference.backends import BackendError, GeneratorBackend
from services.inference.catalog import ModelCatalog, ModelUnservable
from services.inference.events import enqueue_completed, enqueue_failed
from services.inference.provenance import Signer, TrainingInfo
from services.inference.rendering import RenderedImage, render
from services.inference.settings import InferenceSettings
from services.inference.store import GenerationRow
from shared.contracts import assets
from shared.contracts.events.catalog import GenerateJob
from shared.contracts.events.envelope import CloudEvent
from shared.errors import AtelierError
from shared.logging import get_logger
from shared.messaging.consumer import Poison, Retry
from shared.messaging.rpc import call

log = get_logger(__name__)


class GenerationFailedPermanently(Exception):
    """Trying again cannot help: mark the generation failed and ack."""


@dataclass
class GenerationWorker:
    settings: InferenceSettings
    pool: asyncpg.Pool
    nc: NATS
    catalog: ModelCatalog
    backend: GeneratorBackend
    signer: Signer
    executor: Executor

    async def handle(self, event: CloudEvent, _msg: Msg) -> None:
        job = event.payload()
        assert isinstance(job, GenerateJob)
        row = await store.get_generation(self.pool, job.generation_id)
        if row is None:
            raise Poison(f"no generation {job.generation_id}")
        if row.status in ("succeeded", "failed"):
            log.info("inference.generation.already_done", generation_id=row.id, status=row.status)
            return
        await store.mark_running(self.pool, row.id)
        try:
            await self._generate(row)
        except GenerationFailedPermanently as exc:
            await self.fail(row.id, str(exc))
        except BackendError as exc:
            if not exc.retryable:
                await self.fail(row.id, f"the generator failed: {exc}")
                return
            raise Retry(str(exc), delay_s=2.0) from exc
        except AtelierError as exc:  # from the assets service
            if exc.status < 500:
                await self.fail(row.id, f"storing an image failed: {exc.detail}")
                return
            raise Retry(f"assets: {exc.detail}", delay_s=2.0) from exc

    async def _generate(self, row: GenerationRow) -> None:
        version = await store.get_version(self.pool, row.model_id, row.version)
        if version is None or version.status != "ready":
            why = f": {version.error}" if version is not None and version.status == "withdrawn" else ""
            raise GenerationFailedPermanently(f"model version {row.version} cannot be served{why}")
        try:
            await self.catalog.ensure_loaded(row.model_id, row.version, version.repository_path)
        except ModelUnservable as exc:
            await self.catalog.mark_failed(row.model_id, row.version, str(exc))
            raise GenerationFailedPermanently(f"model version {row.version} cannot be served") from exc
        params = row.params
        batch = latents.latents_for_request(row.mode, count=row.count, seed=row.seed, **params)
        done = {o.index for o in await store.outputs_of(self.pool, [row.id])}
        todo = [i for i in range(row.count) if i not in done]
        if todo:
            images = await self.backend.infer(row.model_id, row.version, batch.z[todo])  # one batch
            payload = watermark.short_id(row.id) if row.watermark_id else None
            signed = {**params, "count": row.count, "seed": row.seed}
            model = await store.get_model(self.pool, row.model_id)
            training = TrainingInfo(use=model.training_mining if model else "notAllowed",
                                    dataset_sha256=version.dataset_sha256)
            loop = asyncio.get_running_loop()
            rendered = await asyncio.gather(*(
                loop.run_in_executor(self.executor, functools.partial(
                    render, images[k], index=i, seed=batch.seeds[i], model_id=row.model_id,
                    version=row.version, mode=row.mode, parameters=signed,
                    watermark_payload=payload, signer=self.signer, training=training))
                for k, i in enumerate(todo)
            ))
            await asyncio.gather(*(self._store(row, image) for image in rendered))
        await self._complete(row.id)

    async def _store(self, row: GenerationRow, image: RenderedImage) -> None:
        asset = await call(self.nc, assets.STORE, {
            "owner_id": row.owner_id, "kind": "generated", "content_type": "image/png",
            "data_b64": base64.b64encode(image.png).decode(),
            "meta": {"generation_id": row.id, "index": image.index, "model_id": row.model_id,
                     "version": row.version, "seed": image.seed},
        }, timeout=self.settings.assets_timeout_s)
        await store.insert_output(self.pool, {
            "generation_id": row.id, "index": image.index, "asset_id": asset.id, "seed": image.seed,
            "image_sha256": image.image_sha256, "signed_sha256": image.signed_sha256,
            "width": image.width, "height": image.height,
        })

    async def _complete(self, generation_id: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            row = await store.lock_generation(conn, generation_id)
            assert row is not None
            outputs = await store.outputs_of(conn, [generation_id])
            if not await store.finish_generation(conn, generation_id, "succeeded"):
                return
            await enqueue_completed(conn, row, outputs)
        log.info("inference.generation.completed", generation_id=generation_id, outputs=len(outputs))

    async def fail(self, generation_id: str, error: str) -> None:
        """Mark failed and announce it, once."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await store.lock_generation(conn, generation_id)
            if row is None or not await store.finish_generation(conn, generation_id, "failed", error[:500]):
                return
            await enqueue_failed(conn, row, error[:500])
        log.warning("inference.generation.failed", generation_id=generation_id, error=error)

    async def on_dead_letter(self, event: CloudEvent) -> None:
        job = event.payload()
        assert isinstance(job, GenerateJob)
        await self.fail(job.generation_id, "the generation failed repeatedly and was given up")
