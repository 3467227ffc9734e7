"""The `jobs.generate` worker, batched across generations.

A batch is every job one fetch brought (several users' generations). Per batch, not per job: one
read of the generations and one of their stored outputs, one runtime call per model version for
all their latents (split at the runtime's batch limit), rendering (encode, watermark, sign,
palette) in the executor, one `assets.store_generated` call per few MiB of images, and one
transaction for the outputs, the completions and their outbox rows.

The batch goes in rounds of at most OUTPUTS_PER_ROUND outputs per generation, so that a user sees
images land one group after another (each output recorded announces `inference.generation.progress`
in the transaction that records it) and a generation canceled meanwhile makes no further outputs:
each round starts without the generations canceled so far, and the commit locks the generations and
records nothing for one canceled while its images were made.

Idempotent on redelivery: a finished (or canceled) generation is acked without work; outputs already
stored by an earlier, interrupted attempt are kept and only the missing ones are made. Each
generation keeps its own outcome: one that cannot be served, or whose image assets refuses, fails
alone; a transient failure (runtime or assets unavailable) retries only the jobs it touched.
"""

from __future__ import annotations

import asyncio
import base64
import functools
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from services.inference import latents, store, watermark
from services.inference.backends import BackendError, GeneratorBackend
from services.inference.catalog import ModelCatalog, ModelUnservable
from services.inference.events import SCHEMA, completed_event, enqueue_failed, progress_event
from services.inference.provenance import Signer, TrainingInfo
from services.inference.rendering import RenderedImage, render
from services.inference.settings import InferenceSettings
from services.inference.store import GenerationRow
from shared import originality
from shared.contracts import assets
from shared.contracts.events.catalog import GenerateJob
from shared.contracts.events.envelope import CloudEvent
from shared.errors import AtelierError
from shared.logging import get_logger
from shared.messaging.consumer import Poison, Retry
from shared.messaging.rpc import call
from shared.outbox import enqueue_many

log = get_logger(__name__)
Outcome = BaseException | None  # per job: None → ack (see shared.messaging.batch_consumer)
# One store call carries at most this much base64 (the NATS payload limit is 8 MiB here and in k8s).
STORE_CALL_BYTES = 4 * 1024**2
# Outputs of one generation made per round: between two rounds a cancel takes effect and the user
# sees the images so far (a count-1 generation is one round; a count-16 one, four).
OUTPUTS_PER_ROUND = 4
LIVE = ("queued", "running")


class GenerationFailedPermanently(Exception):
    """Trying again cannot help: mark the generation failed and ack."""


@dataclass
class _Made:
    row: GenerationRow
    image: RenderedImage
    originality: dict[str, Any] | None = None  # distance to the nearest training work, near-copy mark


@dataclass
class GenerationWorker:
    settings: InferenceSettings
    pool: asyncpg.Pool
    nc: NATS
    catalog: ModelCatalog
    backend: GeneratorBackend
    signer: Signer
    executor: Executor

    async def handle(self, event: CloudEvent, msg: Msg) -> None:
        """One job (the single-message consumer): a batch of one."""
        (outcome,) = await self.handle_batch([(event, msg)])
        if outcome is not None:
            raise outcome

    async def handle_batch(self, items: list[tuple[CloudEvent, Msg]]) -> list[Outcome]:
        """One outcome per job, in order (a job delivered twice in one batch is done once)."""
        ids: list[str] = []
        for event, _ in items:
            job = event.payload()
            assert isinstance(job, GenerateJob)
            ids.append(job.generation_id)
        wanted = list(dict.fromkeys(ids))
        outcomes: dict[str, Outcome] = {}
        rows = await store.get_generations(self.pool, wanted)
        live: list[GenerationRow] = []
        for generation_id in wanted:
            row = rows.get(generation_id)
            if row is None:
                outcomes[generation_id] = Poison(f"no generation {generation_id}")
            elif row.status in ("succeeded", "failed", "canceled"):
                log.info("inference.generation.already_done", generation_id=row.id, status=row.status)
                outcomes[generation_id] = None
            else:
                live.append(row)
        if live:
            await store.mark_running_many(self.pool, [r.id for r in live])
            errors = await self._generate(live)
            for row in live:
                outcomes[row.id] = await self._outcome(row.id, errors[row.id]) if row.id in errors else None
        return [outcomes[generation_id] for generation_id in ids]

    # -- the batch -------------------------------------------------------------------------------

    async def _generate(self, rows: list[GenerationRow]) -> dict[str, BaseException]:
        """Make, store and complete what `rows` lack, round by round; the error of each generation
        that did not finish (a canceled one simply stops)."""
        errors: dict[str, BaseException] = {}
        pending = rows
        while pending:
            current = await store.get_generations(self.pool, [r.id for r in pending])
            pending = [r for r in pending if r.id in current and current[r.id].status in LIVE]
            if not pending:
                break
            done = {(o.generation_id, o.index) for o in await store.outputs_of(self.pool, [r.id for r in pending])}
            groups: dict[tuple[str, int], list[GenerationRow]] = {}
            for row in pending:
                groups.setdefault((row.model_id, row.version), []).append(row)
            made: list[_Made] = []
            for group_made in await asyncio.gather(*(self._make(group, done, errors) for group in groups.values())):
                made += group_made
            stored = await self._store(made, errors)
            complete = [r for r in pending if r.id not in errors
                        and sum((r.id, i) in done for i in range(r.count)) + sum(
                            o["generation_id"] == r.id for o in stored) >= r.count]
            await self._commit(stored, complete)
            pending = [r for r in pending if r.id not in errors and r not in complete]
        return errors

    async def _make(self, rows: list[GenerationRow], done: set[tuple[str, int]],
                    errors: dict[str, BaseException]) -> list[_Made]:
        """Rendered images of the next missing outputs of `rows` (all of one model version), at most
        OUTPUTS_PER_ROUND of each."""
        try:
            training = await self._ensure_servable(rows[0])
        except Exception as exc:
            errors.update({r.id: exc for r in rows})
            return []
        version = await store.get_version(self.pool, rows[0].model_id, rows[0].version)
        assert version is not None  # checked by _ensure_servable
        repository = self.catalog.repository
        directions = (await repository.directions(version.repository_path)
                      if any(r.mode == "edit" for r in rows) else None)
        plan: list[tuple[GenerationRow, int, int]] = []  # (generation, output index, seed)
        latent_rows: list[np.ndarray[Any, Any]] = []
        for row in rows:
            try:
                batch = latents.latents_for_request(row.mode, count=row.count, seed=row.seed,
                                                    directions=directions, **row.params)
            except latents.LatentParameterError as exc:  # checked at create; only a changed file lands here
                errors[row.id] = GenerationFailedPermanently(f"the generation parameters are not valid: {exc}")
                continue
            todo = [i for i in range(row.count) if (row.id, i) not in done][:OUTPUTS_PER_ROUND]
            plan += [(row, i, batch.seeds[i]) for i in todo]
            if todo:
                latent_rows.append(batch.z[todo])
        if not plan:
            return []
        try:
            images = await self._infer(rows[0].model_id, rows[0].version, np.concatenate(latent_rows))
        except Exception as exc:
            errors.update({r.id: exc for r in rows})
            return []
        loop = asyncio.get_running_loop()
        reference = await repository.originality(version.repository_path)
        scores: list[dict[str, Any] | None] = (
            await loop.run_in_executor(self.executor, originality.score, images, reference)
            if reference is not None else [None] * len(plan))
        rendered = await asyncio.gather(*(
            loop.run_in_executor(self.executor, functools.partial(
                render, images[k], index=i, seed=seed, model_id=row.model_id, version=row.version, mode=row.mode,
                parameters={**row.params, "count": row.count, "seed": row.seed},
                watermark_payload=watermark.short_id(row.id) if row.watermark_id else None, signer=self.signer,
                training=training))
            for k, (row, i, seed) in enumerate(plan)
        ), return_exceptions=True)
        out: list[_Made] = []
        for (row, _, _), image, score in zip(plan, rendered, scores, strict=True):
            if isinstance(image, BaseException):
                errors.setdefault(row.id, image)
            else:
                out.append(_Made(row, image, score))
        return out

    async def _ensure_servable(self, row: GenerationRow) -> TrainingInfo:
        """Load the version unless it cannot be served; what its images' manifests say about training."""
        version = await store.get_version(self.pool, row.model_id, row.version)
        if version is None or version.status != "ready":
            why = f": {version.error}" if version is not None and version.status == "withdrawn" else ""
            raise GenerationFailedPermanently(f"model version {row.version} cannot be served{why}")
        try:
            await self.catalog.ensure_loaded(row.model_id, row.version, version.repository_path)
        except ModelUnservable as exc:
            await self.catalog.mark_failed(row.model_id, row.version, str(exc))
            raise GenerationFailedPermanently(f"model version {row.version} cannot be served") from exc
        model = await store.get_model(self.pool, row.model_id)
        return TrainingInfo(use=model.training_mining if model else "notAllowed", dataset_sha256=version.dataset_sha256)

    async def _infer(self, model_id: str, version: int, z: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """All latents of a version, in runtime calls of at most `inference_max_batch_images`, at once."""
        size = self.settings.inference_max_batch_images
        parts = await asyncio.gather(*(self.backend.infer(model_id, version, z[i:i + size])
                                       for i in range(0, len(z), size)))
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    async def _store(self, made: list[_Made], errors: dict[str, BaseException]) -> list[dict[str, Any]]:
        """Store the images with assets (a few calls for the whole batch); the output rows stored."""
        results = await asyncio.gather(*(self._store_call(chunk, errors) for chunk in _chunks(made)))
        return [output for chunk in results for output in chunk]

    async def _store_call(self, chunk: list[tuple[_Made, str]], errors: dict[str, BaseException],
                          ) -> list[dict[str, Any]]:
        items = [{"owner_id": m.row.owner_id, "data_b64": data_b64, "sha256": m.image.signed_sha256,
                  "width": m.image.width, "height": m.image.height, "palette": m.image.palette,
                  "meta": {"generation_id": m.row.id, "index": m.image.index, "model_id": m.row.model_id,
                           "version": m.row.version, "seed": m.image.seed}}
                 for m, data_b64 in chunk]
        try:
            reply = await call(self.nc, assets.STORE_GENERATED, {"items": items},
                               timeout=self.settings.assets_timeout_s)
        except Exception as exc:
            for m, _ in chunk:
                errors.setdefault(m.row.id, exc)
            return []
        outputs = []
        for (m, _), outcome in zip(chunk, reply.items, strict=True):
            if outcome.asset is None:
                status, detail = outcome.status or 500, outcome.detail or "refused"
                errors.setdefault(m.row.id, GenerationFailedPermanently(f"storing an image failed: {detail}")
                                  if status < 500 else Retry(f"assets: {detail}", delay_s=2.0))
                continue
            outputs.append({"generation_id": m.row.id, "index": m.image.index, "asset_id": outcome.asset.id,
                            "seed": m.image.seed, "image_sha256": m.image.image_sha256,
                            "signed_sha256": m.image.signed_sha256, "width": m.image.width,
                            "height": m.image.height, "originality": m.originality})
        return outputs

    async def _commit(self, outputs: list[dict[str, Any]], finished: list[GenerationRow]) -> None:
        """One transaction: every output stored (also of generations that must retry: kept for the
        next attempt) with its progress event, the generations that have all theirs, and their
        completed events. The generations are locked first: one canceled meanwhile gets nothing."""
        if not outputs and not finished:
            return
        async with self.pool.acquire() as conn, conn.transaction():
            live: dict[str, GenerationRow] = {}
            for generation_id in sorted({o["generation_id"] for o in outputs} | {r.id for r in finished}):
                locked = await store.lock_generation(conn, generation_id)  # a cancel waits, or we wait for it
                if locked is not None and locked.status in LIVE:
                    live[generation_id] = locked
            kept = [o for o in outputs if o["generation_id"] in live]
            await store.insert_outputs(conn, kept)
            await enqueue_many(conn, SCHEMA, [
                progress_event(live[o["generation_id"]], o["index"], o["asset_id"], o["seed"]) for o in kept])
            finishing = [r.id for r in finished if r.id in live]
            moved = await store.succeed_generations(conn, finishing) if finishing else []
            by_generation: dict[str, list[store.OutputRow]] = {r.id: [] for r in moved}
            for o in await store.outputs_of(conn, list(by_generation)) if moved else []:
                by_generation[o.generation_id].append(o)
            await enqueue_many(conn, SCHEMA, [completed_event(r, by_generation[r.id]) for r in moved])
        for r in moved:
            log.info("inference.generation.completed", generation_id=r.id, outputs=len(by_generation[r.id]))

    # -- outcomes --------------------------------------------------------------------------------

    async def _outcome(self, generation_id: str, exc: BaseException) -> Outcome:
        """Settle one generation's error: failed for good (then ack), or retry the job."""
        if isinstance(exc, GenerationFailedPermanently):
            await self.fail(generation_id, str(exc))
            return None
        if isinstance(exc, BackendError):
            if not exc.retryable:
                await self.fail(generation_id, f"the generator failed: {exc}")
                return None
            return Retry(str(exc), delay_s=2.0)
        if isinstance(exc, AtelierError):  # from the assets service
            if exc.status < 500:
                await self.fail(generation_id, f"storing an image failed: {exc.detail}")
                return None
            return Retry(f"assets: {exc.detail}", delay_s=2.0)
        return exc

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


def _chunks(made: list[_Made]) -> Iterator[list[tuple[_Made, str]]]:
    """The images with their base64, in store calls under STORE_CALL_BYTES and the batch limit."""
    chunk: list[tuple[_Made, str]] = []
    size = 0
    for m in made:
        data_b64 = base64.b64encode(m.image.png).decode()
        if chunk and (size + len(data_b64) > STORE_CALL_BYTES or len(chunk) >= assets.GENERATED_BATCH_MAX):
            yield chunk
            chunk, size = [], 0
        chunk.append((m, data_b64))
        size += len(data_b64) + 512
    if chunk:
        yield chunk
