"""Which trainer events change who may see a model's sample grids, and how they are ordered."""

from __future__ import annotations

from datetime import UTC, datetime

from services.assets.sample_visibility import (
    SAMPLES_CONSUMER,
    VersionWithdrawn,
    VisibilitySeen,
    sample_change,
)
from shared.contracts.events.catalog import (
    ModelConsentWithdrawn,
    ModelQueued,
    ModelSettingsChanged,
    ModelTrained,
    TrainingProgress,
)
from shared.messaging.permissions import identity


def _settings(visibility: str) -> ModelSettingsChanged:
    return ModelSettingsChanged.model_validate({
        "model_id": "m1", "owner_id": "u1", "name": "Blobs", "visibility": visibility,
        "training_mining": "notAllowed", "licence": "all-rights-reserved"})


def test_a_settings_change_is_ordered_by_its_stream_sequence() -> None:
    assert sample_change(_settings("public"), 41) == VisibilitySeen("m1", "u1", "public", 41)
    assert sample_change(_settings("private"), 42) == VisibilitySeen("m1", "u1", "private", 42)


def test_a_trained_event_is_only_a_fallback_that_any_settings_change_overrides() -> None:
    trained = ModelTrained.model_validate({
        "model_id": "m1", "owner_id": "u1", "version": 2, "architecture": "vae", "image_size": 32, "steps": 10,
        "metrics": {}, "repository_path": "m1/2", "visibility": "public"})
    # Its visibility is the one the job started with: a later owner's change must win over it.
    assert sample_change(trained, 99) == VisibilitySeen("m1", "u1", "public", None)


def test_a_withdrawal_hides_that_version_only() -> None:
    withdrawn = ModelConsentWithdrawn.model_validate({
        "model_id": "m1", "owner_id": "u1", "version": 3, "work_ids": ["w1"], "reason": "work_deleted",
        "withdrawn_at": datetime(2026, 1, 1, tzinfo=UTC)})
    assert sample_change(withdrawn, 7) == VersionWithdrawn("m1", 3)


def test_queued_and_progress_events_change_nothing() -> None:
    queued = ModelQueued.model_validate({"model_id": "m1", "owner_id": "u1", "version": 1, "name": "B",
                                         "architecture": "vae", "image_size": 32, "total_steps": 10})
    progress = TrainingProgress.model_validate({"model_id": "m1", "owner_id": "u1", "version": 1, "step": 5,
                                                "total_steps": 10, "losses": {}, "sample_asset_id": "a1"})
    assert sample_change(queued, 1) is None
    assert sample_change(progress, 2) is None


def test_the_consumer_reads_model_events_of_the_trainer_stream_with_its_own_nats_grant() -> None:
    assert (SAMPLES_CONSUMER.stream, SAMPLES_CONSUMER.filter_subject) == ("TRAINER", "trainer.model.*")
    grants = {(c.stream, c.durable) for c in identity("assets").consumers}
    assert ("TRAINER", SAMPLES_CONSUMER.durable) in grants
