"""Everything the inference service publishes and consumes.

Publishes (through its outbox, in the transaction that changes the generation): the `jobs.generate`
job of every accepted generation, `inference.generation.progress` as each output is stored, and
`inference.generation.completed` / `.failed` / `.canceled` when it ends.
Consumes: trainer model events (stream TRAINER) to keep its model catalog, the generate jobs
(stream JOBS), which `worker.GenerationWorker` handles, and likes of works (stream COMMUNITY): the
likes an output's published work receives weigh in the model's next refine.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import asyncpg
import orjson
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from services.inference import availability, store
from services.inference.backends import BackendError
from services.inference.catalog import ModelCatalog
from services.inference.store import GenerationRow, OutputRow
from shared.contracts.events.catalog import (
    GenerateJob,
    GenerationCanceled,
    GenerationCompleted,
    GenerationFailed,
    GenerationOutput,
    GenerationProgress,
    ModelConsentWithdrawn,
    ModelQueued,
    ModelSettingsChanged,
    ModelTrained,
    TrainingCanceled,
    TrainingFailed,
    WorkDeleted,
    WorkLiked,
    WorkUnliked,
)
from shared.contracts.events.envelope import CloudEvent
from shared.logging import get_logger
from shared.messaging.batch_consumer import BatchJetStreamConsumer
from shared.messaging.consumer import ConsumerSpec, JetStreamConsumer, Retry
from shared.messaging.publisher import event_in_context
from shared.outbox import enqueue

log = get_logger(__name__)
SCHEMA = "inference"  # the service's schema, outbox and event source
Handler = Callable[[CloudEvent, Msg], Awaitable[None]]

# --- published -----------------------------------------------------------------------------------


async def enqueue_generate_job(conn: asyncpg.Connection, generation_id: str, owner_id: str, count: int) -> None:
    """The job of a generation just accepted (inside the transaction that inserts it)."""
    job = GenerateJob(generation_id=generation_id, owner_id=owner_id, count=count)
    await enqueue(conn, SCHEMA, event_in_context(job, service=SCHEMA, subject_id=generation_id))


def completed_event(row: GenerationRow, outputs: list[OutputRow]) -> CloudEvent:
    payload = GenerationCompleted(
        generation_id=row.id, owner_id=row.owner_id, model_id=row.model_id, version=row.version, mode=row.mode,
        outputs=[GenerationOutput(index=o.index, asset_id=o.asset_id, seed=o.seed) for o in outputs],
    )
    return event_in_context(payload, service=SCHEMA, subject_id=row.id)


async def enqueue_completed(conn: asyncpg.Connection, row: GenerationRow, outputs: list[OutputRow]) -> None:
    await enqueue(conn, SCHEMA, completed_event(row, outputs))


async def enqueue_failed(conn: asyncpg.Connection, row: GenerationRow, error: str) -> None:
    payload = GenerationFailed(generation_id=row.id, owner_id=row.owner_id, model_id=row.model_id,
                               version=row.version, error=error)
    await enqueue(conn, SCHEMA, event_in_context(payload, service=SCHEMA, subject_id=row.id))


def progress_event(row: GenerationRow, index: int, asset_id: str, seed: int) -> CloudEvent:
    """One output landed (enqueued inside the transaction that records it)."""
    payload = GenerationProgress(generation_id=row.id, owner_id=row.owner_id, model_id=row.model_id,
                                 version=row.version, index=index, asset_id=asset_id, seed=seed, count=row.count)
    return event_in_context(payload, service=SCHEMA, subject_id=row.id)


async def enqueue_canceled(conn: asyncpg.Connection, row: GenerationRow, outputs_made: int) -> None:
    payload = GenerationCanceled(generation_id=row.id, owner_id=row.owner_id, model_id=row.model_id,
                                 version=row.version, outputs_made=outputs_made)
    await enqueue(conn, SCHEMA, event_in_context(payload, service=SCHEMA, subject_id=row.id))


# --- consumed ------------------------------------------------------------------------------------

# `trainer.model.*` = queued, trained, updated (settings) and consent_withdrawn; progress events
# (many) live under `trainer.training.*`.
# A trained event older than this is history being replayed: its version loads on first use instead.
PRELOAD_MAX_AGE = timedelta(minutes=10)
MODELS_SPEC = ConsumerSpec(stream="TRAINER", durable="inference-models", filter_subject="trainer.model.*",
                           ack_wait_s=60.0, max_deliver=10)


# Trainings that end without a version: the version is marked failed so requests get a clear 409.
ENDED_SPEC = ConsumerSpec(stream="TRAINER", durable="inference-training-ended", filter_subject="",
                          filter_subjects=("trainer.training.failed", "trainer.training.canceled"),
                          max_deliver=20)


# Likes of published outputs, for the refine's weighting (a deleted work's likes go with it).
LIKES_SPEC = ConsumerSpec(stream="COMMUNITY", durable="inference-likes", filter_subject="",
                          filter_subjects=("community.work.liked", "community.work.unliked",
                                           "community.work.deleted"), max_deliver=20)


def likes_handler(pool: asyncpg.Pool) -> Handler:
    async def handle(event: CloudEvent, _msg: Msg) -> None:
        payload = event.payload()
        if isinstance(payload, WorkLiked | WorkUnliked):
            await store.record_like(pool, payload.work_id, payload.user_id, isinstance(payload, WorkLiked))
        elif isinstance(payload, WorkDeleted):
            await store.forget_work(pool, payload.work_id)

    return handle


def generate_spec(max_deliver: int, batch: int = 1, ack_wait_s: float = 6.0) -> ConsumerSpec:
    # Heartbeats keep a long job's ack deadline alive, so a short ack wait only bounds how soon a dead
    # worker's jobs go to another; max_ack_pending bounds work held per replica.
    return ConsumerSpec(stream="JOBS", durable="inference-generate", filter_subject="jobs.generate",
                        ack_wait_s=ack_wait_s, max_deliver=max_deliver, max_ack_pending=64, backoff_base_s=1.0,
                        batch=batch)


class JobHandler(Protocol):
    """The generate-job consumer (`worker.GenerationWorker`)."""

    async def handle(self, event: CloudEvent, msg: Msg) -> None: ...

    async def handle_batch(self, items: list[tuple[CloudEvent, Msg]]) -> list[BaseException | None]: ...

    async def on_dead_letter(self, event: CloudEvent) -> None: ...


def model_events_handler(catalog: ModelCatalog) -> Handler:
    async def handle(event: CloudEvent, _msg: Msg) -> None:
        payload = event.payload()
        if isinstance(payload, ModelConsentWithdrawn):
            await availability.on_consent_withdrawn(catalog.pool, catalog.backend, payload)
        elif isinstance(payload, ModelSettingsChanged):
            await availability.on_settings(catalog.pool, payload)
        elif isinstance(payload, ModelQueued):
            await catalog.on_queued(payload)
        elif isinstance(payload, ModelTrained):
            try:
                fresh = datetime.now(UTC) - event.time < PRELOAD_MAX_AGE
                await catalog.on_trained(payload, event.data, preload=fresh)
            except BackendError as exc:
                if exc.retryable:
                    raise Retry(f"runtime unavailable: {exc}", delay_s=5.0) from exc
                raise

    return handle


def training_ended_handler(catalog: ModelCatalog) -> Handler:
    async def handle(event: CloudEvent, _msg: Msg) -> None:
        payload = event.payload()
        if isinstance(payload, TrainingFailed | TrainingCanceled):
            await catalog.on_training_ended(payload)

    return handle


async def _model_dead_letter(catalog: ModelCatalog, event: CloudEvent) -> None:
    payload = event.payload()
    if isinstance(payload, ModelTrained):
        await catalog.mark_failed(payload.model_id, payload.version, "the runtime could not load this version")


def job_images(data: bytes) -> int:
    """How many images a `jobs.generate` message asks for (1 when it does not say: older jobs)."""
    try:
        count = orjson.loads(data)["data"].get("count", 1)
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return 1
    return count if isinstance(count, int) and count > 0 else 1


def build_consumers(nc: NATS, js: JetStreamContext, catalog: ModelCatalog, jobs: JobHandler,
                    workers: int, max_deliver: int, batch: int = 1, linger_s: float = 0.0,
                    batch_images: int | None = None, ack_wait_s: float = 6.0) -> list[JetStreamConsumer]:
    consumers = [JetStreamConsumer(nc, js, MODELS_SPEC, model_events_handler(catalog),
                                   on_dead_letter=lambda e: _model_dead_letter(catalog, e)),
                 JetStreamConsumer(nc, js, ENDED_SPEC, training_ended_handler(catalog)),
                 JetStreamConsumer(nc, js, LIKES_SPEC, likes_handler(catalog.pool))]
    # Several pull loops on one durable, each taking a batch of jobs: one batch is in the runtime
    # while another renders and stores.
    spec = generate_spec(max_deliver, batch, ack_wait_s)
    # A batch holds at most `batch` jobs and about `batch_images` images: jobs beyond it stay queued
    # (their queue position and ETA stay true) instead of waiting inside a worker marked running.
    consumers += [BatchJetStreamConsumer(nc, js, spec, jobs.handle_batch, on_dead_letter=jobs.on_dead_letter,
                                         linger_s=linger_s, weight=job_images, max_weight=batch_images)
                  for _ in range(workers)]
    return consumers
