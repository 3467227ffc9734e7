"""The `jobs.train` worker (its consumer is declared in events.py): gathers the dataset, runs a
training process, reports, publishes.

Outcomes of one delivery:
- trained: the ONNX export and config go to the model repository, the version row and
  `trainer.model.trained` are committed together (outbox), the message is acked;
- canceled by the owner: status canceled + `trainer.training.canceled`;
- service shutdown: the child stops with a checkpoint, which is uploaded, and the message is
  nak'ed: the next worker resumes from it;
- the child died (killed, out of memory): the message is nak'ed with backoff and the redelivery
  resumes from the last checkpoint written during training;
- permanent errors (consent withdrawn, undecodable images): failed + `trainer.training.failed`;
- transient errors are retried until max_deliver, then the dead-letter path marks the job failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiohttp
import asyncpg
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from services.trainer import store
from services.trainer.checkpoints import checkpoint_key
from services.trainer.dataset_fetch import PermanentJobError, gather_images
from services.trainer.events import canceled_event, failed_event, progress_event
from services.trainer.runner import TrainingProcess
from services.trainer.settings import TrainerSettings
from services.trainer.store import JobRow, ModelRow
from services.trainer.versions import publish_version, store_sample
from shared.contracts.events.catalog import TrainJob
from shared.contracts.events.envelope import CloudEvent
from shared.logging import bound_context, get_logger
from shared.messaging.consumer import Poison, Retry
from shared.messaging.publisher import publish_event
from shared.objectstore import ObjectStore
from shared.outbox import enqueue

log = get_logger(__name__)
SCHEMA = "trainer"


def intervals(settings: TrainerSettings, steps: int) -> dict[str, int]:
    """Short runs report, sample and checkpoint more often, so every run has some of each.
    Checkpoints fall on progress steps (the runner labels them with the last progress step)."""
    progress = max(1, min(settings.trainer_progress_every, steps // 20 or 1))
    sample = max(1, min(settings.trainer_sample_every, steps // 4 or 1))
    checkpoint = max(1, min(settings.trainer_checkpoint_every, steps // 4 or 1))
    checkpoint = max(progress, checkpoint // progress * progress)
    return {"progress_every": progress, "sample_every": sample, "checkpoint_every": checkpoint}


class TrainWorker:
    def __init__(self, settings: TrainerSettings, pool: asyncpg.Pool, nc: NATS, js: JetStreamContext,
                 objects: ObjectStore, http: aiohttp.ClientSession) -> None:
        self.settings, self.pool, self.nc, self.js = settings, pool, nc, js
        self.objects, self.http = objects, http
        self._stopping = asyncio.Event()

    def shutdown(self) -> None:
        """The service is stopping: running jobs checkpoint and go back to the queue."""
        self._stopping.set()

    async def handle(self, event: CloudEvent, msg: Msg) -> None:
        payload = event.payload()
        if not isinstance(payload, TrainJob):
            raise Poison(f"not a train job: {event.type}")
        if self._stopping.is_set():
            raise Retry("shutting down", delay_s=1.0)
        job = await store.start_attempt(self.pool, payload.job_id)
        if job is None:
            if await store.get_job(self.pool, payload.job_id) is None:
                raise Poison(f"unknown job {payload.job_id}")
            log.info("trainer.job.skipped", job_id=payload.job_id, reason="ended, or trained by a DDP run")
            return
        with bound_context(job_id=job.id, model_id=job.model_id, version=job.version):
            if job.cancel_requested:
                await self._end_canceled(job, job.step)
                return
            model = await store.get_model(self.pool, job.model_id)
            assert model is not None
            try:
                await self._run(model, job)
            except PermanentJobError as exc:
                log.warning("trainer.job.failed", error=str(exc))
                await self._end_failed(job, str(exc))

    async def on_dead_letter(self, event: CloudEvent) -> None:
        payload = event.payload()
        if isinstance(payload, TrainJob):
            job = await store.get_job(self.pool, payload.job_id)
            if job is not None:
                await self._end_failed(job, f"gave up after {self.settings.train_max_deliver} attempts")

    # -- one attempt -------------------------------------------------------------------------------

    async def _run(self, model: ModelRow, job: JobRow) -> None:
        images, found = await gather_images(self.nc, self.pool, self.http, self.settings, model, job)
        resume = await self.objects.read(checkpoint_key(model.id, job.version))
        init_from = None
        if job.kind == "refine" and (resume is None or found["liked"]):  # liked: its "before" metric
            if job.base_version is None:
                raise PermanentJobError("a refine job names no version to start from")
            init_from = await self.objects.read(checkpoint_key(model.id, job.base_version, "final"))
            if init_from is None:
                raise PermanentJobError(f"the weights of version {job.base_version} are missing")
        config = {
            "architecture": model.architecture, "image_size": model.image_size, "width": model.width,
            "steps": job.steps, "batch_size": job.batch_size, "augment": job.augment,
            "seed": job.seed, "threads": self.settings.trainer_threads,
            "device": "cuda" if self.settings.trainer_gpu else "cpu",
        }
        frame = {"config": config, "images": images, "weights": found["weights"], "liked": found["liked"],
                 "resume": resume, "init_from": init_from,
                 "model_name": model.id, "triton_backend": self.settings.trainer_triton_backend,
                 **intervals(self.settings, job.steps)}
        proc = await TrainingProcess.start(frame)
        log.info("trainer.job.started", pid=proc.pid, attempt=job.attempts, images=len(images),
                 resume=resume is not None, steps=job.steps)
        await store.set_worker(self.pool, job.id, proc.pid)
        watcher = asyncio.create_task(self._watch_cancel(job.id, proc))
        try:
            outcome = await self._supervise(model, job, proc)
            if outcome is not None and outcome[0] == "result":
                outcome[1]["image_sources"] = found["sources"]
        except BaseException:
            proc.kill()  # an error on this side (or the consumer giving up): no orphan keeps training
            raise
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await proc.wait(timeout_s=10.0)
        await self._conclude(model, job, proc, outcome)

    async def _watch_cancel(self, job_id: str, proc: TrainingProcess) -> None:
        """Stop the child when the owner cancels (flag in the DB) or the service shuts down."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.trainer_cancel_poll_s)
            if self._stopping.is_set() or await store.cancel_requested(self.pool, job_id):
                await proc.stop()
                return

    async def _supervise(self, model: ModelRow, job: JobRow,
                         proc: TrainingProcess) -> tuple[str, Any] | None:
        last_published = 0.0
        progress: dict[str, Any] = {"step": job.step, "total_steps": job.steps, "losses": {}, "eta_s": None}
        async for kind, data in proc.messages():
            if kind == "progress":
                # A resumed run replays the steps after its checkpoint: what users see never goes back
                # (the job says `resumed_from_step`), it holds the furthest step until the run passes it.
                progress = {**data, "step": max(data["step"], progress["step"])}
                await store.set_progress(self.pool, job.id, progress["step"], data["losses"], data["eta_s"])
                now = time.monotonic()
                if now - last_published >= self.settings.trainer_progress_min_interval_s \
                        or data["step"] == data["total_steps"]:
                    last_published = now
                    await self._publish_progress(job, progress)
            elif kind == "sample":
                try:
                    asset_id = await self._store_sample(job, data["png"], progress["step"])
                except Exception as exc:  # a missing progress picture is no reason to stop training
                    log.warning("trainer.sample.store_failed", error=str(exc) or type(exc).__name__)
                    continue
                await self._publish_progress(job, progress, sample_asset_id=asset_id)
            elif kind == "checkpoint":
                await self.objects.write(checkpoint_key(model.id, job.version), data["data"])
                await store.set_checkpoint_step(self.pool, job.id, data["step"])
                log.info("trainer.checkpoint.saved", step=data["step"], bytes=len(data["data"]))
            elif kind == "resumed":
                await store.set_resumed(self.pool, job.id, data["step"])
                log.info("trainer.job.resumed", resumed_from_step=data["step"])
            elif kind == "resume_skipped":
                log.warning("trainer.checkpoint.unusable", step=data["step"])
            elif kind in ("result", "error"):
                return kind, data
        return None

    async def _conclude(self, model: ModelRow, job: JobRow, proc: TrainingProcess,
                        outcome: tuple[str, Any] | None) -> None:
        user_canceled = await store.cancel_requested(self.pool, job.id)
        if outcome is None:
            if self._stopping.is_set():
                await store.requeue(self.pool, job.id)
                raise Retry("shutdown before the training process reported", delay_s=1.0)
            # Killed (out of memory, a node drained...): the redelivery resumes from the last checkpoint.
            log.warning("trainer.job.process_died", exit_code=proc.proc.returncode)
            raise Retry(f"the training process exited with code {proc.proc.returncode} without a result",
                        delay_s=1.0)
        kind, data = outcome
        if kind == "error":
            if data["permanent"]:
                raise PermanentJobError(data["message"])
            raise RuntimeError(data["message"])
        if data["status"] == "canceled":
            if user_canceled:
                await self._end_canceled(job, data["steps_done"])
                with contextlib.suppress(Exception):
                    await self.objects.delete(checkpoint_key(model.id, job.version))
                return
            # Shutdown: keep the exact state for whichever worker gets the redelivery.
            await self.objects.write(checkpoint_key(model.id, job.version), data["checkpoint"])
            await store.set_checkpoint_step(self.pool, job.id, data["steps_done"])
            await store.requeue(self.pool, job.id, data["steps_done"])
            log.info("trainer.job.requeued", step=data["steps_done"])
            raise Retry("service shutting down; resuming elsewhere from the checkpoint", delay_s=1.0)
        await self._publish_version(model, job, data)

    async def _publish_version(self, model: ModelRow, job: JobRow, data: dict[str, Any]) -> None:
        sample_id = None
        if data["sample_png"]:
            sample_id = await self._store_sample(job, data["sample_png"], data["steps_done"])
        await publish_version(self.pool, self.objects, model, job, data, sample_id)

    # -- helpers ---------------------------------------------------------------------------------

    async def _store_sample(self, job: JobRow, png: bytes, step: int) -> str:
        return await store_sample(self.nc, self.pool, self.settings, job, png, step)

    async def _publish_progress(self, job: JobRow, progress: dict[str, Any],
                                sample_asset_id: str | None = None) -> None:
        # Progress goes out directly: losing one is harmless, and the next one supersedes it.
        try:
            await publish_event(self.js, progress_event(job, progress, sample_asset_id),
                                timeout=self.settings.publish_timeout_s)
        except Exception as exc:
            log.warning("trainer.progress.publish_failed", error=str(exc) or type(exc).__name__)

    async def _end_canceled(self, job: JobRow, step: int) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            if await store.finish(conn, job.id, "canceled", step=step):
                await enqueue(conn, SCHEMA, canceled_event(job, step))
        log.info("trainer.job.canceled", step=step)

    async def _end_failed(self, job: JobRow, error: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            if await store.finish(conn, job.id, "failed", error=error[:1000]):
                await enqueue(conn, SCHEMA, failed_event(job, error[:1000]))
