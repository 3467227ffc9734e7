"""Events of the trainer: a style model's training from queued to trained (or failed, canceled),
consent withdrawn, settings changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from shared.contracts.events.catalog.types import (
    Architecture,
    ConsentReason,
    TrainingMining,
)
from shared.contracts.events.registry import EventPayload


class _ModelEvent(EventPayload):
    model_id: str
    owner_id: str
    version: int


class ModelQueued(_ModelEvent, subject="trainer.model.queued"):
    """A training (or refine) job was accepted and waits for a worker."""

    name: str
    architecture: Architecture
    image_size: int
    total_steps: int


class TrainingProgress(_ModelEvent, subject="trainer.training.progress"):
    """Periodic progress of a running job; `sample_asset_id` is set when a sample grid was stored."""

    step: int
    total_steps: int
    losses: dict[str, float]
    eta_s: float | None = None
    sample_asset_id: str | None = None


class ModelTrained(_ModelEvent, subject="trainer.model.trained"):
    """A new model version is exported to the model repository and can be served."""

    architecture: Architecture
    image_size: int
    steps: int
    metrics: dict[str, Any] = Field(description=(
        "the version's metrics as GET /v1/models/{id} shows them: swd, swd_untrained; with 12 works or more "
        "swd_heldout, swd_heldout_untrained, train_works, heldout_works; precision, recall, recall_heldout; "
        "memorisation_*"))
    repository_path: str
    dataset_sha256: str | None = None
    # Who may generate from it: its owner only, or everyone.
    visibility: Literal["public", "private"] = "private"
    # What the model's generated images say about their own use for AI training (CAWG).
    training_mining: TrainingMining = "notAllowed"


class ModelConsentWithdrawn(_ModelEvent, subject="trainer.model.consent_withdrawn"):
    """Consent for works this version was trained on was withdrawn: it is no longer served."""

    work_ids: list[str] = Field(description="the withdrawn works this version was trained on")
    reason: ConsentReason
    withdrawn_at: datetime


class ModelSettingsChanged(EventPayload, subject="trainer.model.updated"):
    """A model's owner changed who may use it or what its images allow."""

    model_id: str
    owner_id: str
    name: str
    visibility: Literal["public", "private"]
    training_mining: TrainingMining
    licence: str
    commercial_use: bool = False


class TrainingFailed(_ModelEvent, subject="trainer.training.failed"):
    """A job ended with an error."""

    error: str
    step: int | None = None


class TrainingCanceled(_ModelEvent, subject="trainer.training.canceled"):
    """A job stopped because its owner canceled it."""

    step: int | None = None
