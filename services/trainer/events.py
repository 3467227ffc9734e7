"""Everything the trainer publishes and consumes on JetStream.

Publishes (stream TRAINER, through the outbox except progress): `trainer.model.queued`,
`trainer.training.progress`, `trainer.model.trained`, `trainer.training.failed`,
`trainer.training.canceled`, `trainer.model.updated` (settings), `trainer.model.consent_withdrawn`
(consent.py); and the work queue's `jobs.train` (stream JOBS).
Consumes: `jobs.train`, as the durable `trainer-train` (the worker in `worker.py` handles it), and
community's consent events and inference's completed generations (consent.py).
"""

from __future__ import annotations

from typing import Any

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from services.trainer.settings import TrainerSettings
from services.trainer.store import JobRow, ModelRow
from shared.contracts.events.catalog import (
    ModelQueued,
    ModelSettingsChanged,
    ModelTrained,
    TrainingCanceled,
    TrainingFailed,
    TrainingMining,
    TrainingProgress,
    TrainJob,
)
from shared.contracts.events.envelope import CloudEvent
from shared.messaging.consumer import ConsumerSpec, DeadLetterHandler, EventHandler, JetStreamConsumer
from shared.messaging.publisher import event_in_context

SERVICE = "trainer"

# -- published ------------------------------------------------------------------------------------


def queued_event(model: ModelRow, job: JobRow) -> CloudEvent:
    return event_in_context(ModelQueued(
        model_id=model.id, owner_id=model.owner_id, version=job.version, name=model.name,
        architecture=model.architecture, image_size=model.image_size, total_steps=job.steps,
    ), service=SERVICE, subject_id=model.id)


def job_event(job: JobRow) -> CloudEvent:
    return event_in_context(TrainJob(job_id=job.id, model_id=job.model_id, owner_id=job.owner_id,
                                     version=job.version), service=SERVICE, subject_id=job.id)


def progress_event(job: JobRow, progress: dict[str, Any], sample_asset_id: str | None) -> CloudEvent:
    return event_in_context(TrainingProgress(
        model_id=job.model_id, owner_id=job.owner_id, version=job.version, step=progress["step"],
        total_steps=progress["total_steps"], losses=progress.get("losses") or {}, eta_s=progress.get("eta_s"),
        sample_asset_id=sample_asset_id,
    ), service=SERVICE, subject_id=job.model_id)


def trained_event(model: ModelRow, job: JobRow, result: dict[str, Any], path: str) -> CloudEvent:
    return event_in_context(ModelTrained(
        model_id=model.id, owner_id=model.owner_id, version=job.version,
        architecture=model.architecture, image_size=model.image_size, steps=result["steps_done"],
        metrics=result["metrics"], repository_path=path, dataset_sha256=result["dataset_sha256"],
        visibility="public" if model.visibility == "public" else "private",
        training_mining=_mining(model.training_mining),
    ), service=SERVICE, subject_id=model.id)


def _mining(value: str) -> TrainingMining:
    return "allowed" if value == "allowed" else "constrained" if value == "constrained" else "notAllowed"


def settings_event(model: ModelRow) -> CloudEvent:
    return event_in_context(ModelSettingsChanged(
        model_id=model.id, owner_id=model.owner_id, name=model.name,
        visibility="public" if model.visibility == "public" else "private",
        training_mining=_mining(model.training_mining), licence=model.licence,
        commercial_use=model.commercial_use,
    ), service=SERVICE, subject_id=model.id)


def failed_event(job: JobRow, error: str) -> CloudEvent:
    return event_in_context(TrainingFailed(model_id=job.model_id, owner_id=job.owner_id,
                                           version=job.version, error=error, step=job.step),
                            service=SERVICE, subject_id=job.model_id)


def canceled_event(job: JobRow, step: int | None) -> CloudEvent:
    return event_in_context(TrainingCanceled(model_id=job.model_id, owner_id=job.owner_id,
                                             version=job.version, step=step),
                            service=SERVICE, subject_id=job.model_id)


# -- consumed -------------------------------------------------------------------------------------


def train_spec(settings: TrainerSettings) -> ConsumerSpec:
    """`jobs.train`, one job per delivery; a worker that dies loses the message after ack_wait (a few
    seconds: the heartbeats keep a running job's delivery alive)."""
    return ConsumerSpec(stream="JOBS", durable="trainer-train", filter_subject="jobs.train",
                        ack_wait_s=settings.train_ack_wait_s, max_deliver=settings.train_max_deliver,
                        backoff_base_s=1.0)


def train_jobs_consumer(settings: TrainerSettings, nc: NATS, js: JetStreamContext, handle: EventHandler,
                        on_dead_letter: DeadLetterHandler) -> JetStreamConsumer:
    return JetStreamConsumer(nc, js, train_spec(settings), handle, on_dead_letter=on_dead_letter)
