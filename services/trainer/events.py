"""The events the trainer publishes (`trainer.*` on stream TRAINER, jobs on JOBS), built from rows."""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg

from shared.contracts.events.catalog import (
    ModelQueued,
    ModelTrained,
    TrainingCanceled,
    TrainingFailed,
    TrainingProgress,
    TrainJob,
)
from shared.contracts.events.envelope import CloudEvent
from shared.messaging.publisher import event_in_context

SERVICE = "trainer"
Row: TypeAlias = asyncpg.Record | dict[str, Any]


def queued_event(model: Row, job: Row) -> CloudEvent:
    return event_in_context(ModelQueued(
        model_id=model["id"], owner_id=model["owner_id"], version=job["version"], name=model["name"],
        architecture=model["architecture"], image_size=model["image_size"], total_steps=job["steps"],
    ), service=SERVICE, subject_id=model["id"])


def job_event(job: Row) -> CloudEvent:
    return event_in_context(TrainJob(job_id=job["id"], model_id=job["model_id"], owner_id=job["owner_id"],
                                     version=job["version"]), service=SERVICE, subject_id=job["id"])


def progress_event(job: Row, progress: dict[str, Any], sample_asset_id: str | None) -> CloudEvent:
    return event_in_context(TrainingProgress(
        model_id=job["model_id"], owner_id=job["owner_id"], version=job["version"], step=progress["step"],
        total_steps=progress["total_steps"], losses=progress.get("losses") or {}, eta_s=progress.get("eta_s"),
        sample_asset_id=sample_asset_id,
    ), service=SERVICE, subject_id=job["model_id"])


def trained_event(model: Row, job: Row, result: dict[str, Any], path: str) -> CloudEvent:
    return event_in_context(ModelTrained(
        model_id=model["id"], owner_id=model["owner_id"], version=job["version"],
        architecture=model["architecture"], image_size=model["image_size"], steps=result["steps_done"],
        metrics=result["metrics"], repository_path=path, dataset_sha256=result["dataset_sha256"],
    ), service=SERVICE, subject_id=model["id"])


def failed_event(job: Row, error: str) -> CloudEvent:
    return event_in_context(TrainingFailed(model_id=job["model_id"], owner_id=job["owner_id"],
                                           version=job["version"], error=error, step=job["step"]),
                            service=SERVICE, subject_id=job["model_id"])


def canceled_event(job: Row, step: int | None) -> CloudEvent:
    return event_in_context(TrainingCanceled(model_id=job["model_id"], owner_id=job["owner_id"],
                                             version=job["version"], step=step),
                            service=SERVICE, subject_id=job["model_id"])
