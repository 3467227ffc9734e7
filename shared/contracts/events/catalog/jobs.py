"""Jobs on the work-queue stream JOBS: what the trainer and the inference workers are asked to do."""

from __future__ import annotations

from pydantic import Field

from shared.contracts.events.registry import EventPayload


class TrainJob(EventPayload, subject="jobs.train"):
    """Work for the trainer: the job row holds the full configuration."""

    job_id: str
    model_id: str
    owner_id: str
    version: int


class GenerateJob(EventPayload, subject="jobs.generate"):
    """Work for the inference workers: the generation row holds the parameters."""

    generation_id: str
    owner_id: str
    # Images it asks for: workers fill a batch up to a number of images, not of jobs.
    count: int = Field(1, ge=1)
