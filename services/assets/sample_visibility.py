"""Whether others may see a style model's sample grids, from the trainer's events (stream TRAINER).

A sample grid is an asset of kind `sample`; the trainer stores it with `meta` naming its model and
version (services/trainer/versions.py `store_sample`), so the grid-to-model link is known from the
asset itself and no (unreliable, directly published) progress event is needed for it. The events
say the rest: `trainer.model.updated` and `trainer.model.trained` a model's visibility,
`trainer.model.consent_withdrawn` a version whose grids are hidden for good.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from nats.aio.msg import Msg

from services.assets.store import apply_model_visibility, withdraw_model_version
from shared.contexts import DB, JS, NC
from shared.contracts.events.catalog import ModelConsentWithdrawn, ModelSettingsChanged, ModelTrained
from shared.contracts.events.envelope import CloudEvent
from shared.contracts.events.registry import EventPayload
from shared.logging import get_logger
from shared.messaging.consumer import ConsumerSpec, JetStreamConsumer, Poison

log = get_logger(__name__)
# `trainer.model.*`: queued, trained, updated, consent_withdrawn (progress is `trainer.training.*`).
SAMPLES_CONSUMER = ConsumerSpec(stream="TRAINER", durable="assets-model-samples",
                                filter_subject="trainer.model.*", batch=16)


@dataclass(frozen=True)
class VisibilitySeen:
    """A model's visibility; `stream_seq` None when it is only a trained event's (a fallback)."""

    model_id: str
    owner_id: str
    visibility: str
    stream_seq: int | None


@dataclass(frozen=True)
class VersionWithdrawn:
    model_id: str
    version: int


def sample_change(payload: EventPayload, stream_seq: int) -> VisibilitySeen | VersionWithdrawn | None:
    """What a trainer event changes about who sees the model's sample grids (None: nothing).

    A trained event carries the visibility the model had when its job started, so an owner's later
    settings change (published before the trained event) must win: it is only a fallback."""
    if isinstance(payload, ModelSettingsChanged):
        return VisibilitySeen(payload.model_id, payload.owner_id, payload.visibility, stream_seq)
    if isinstance(payload, ModelTrained):
        return VisibilitySeen(payload.model_id, payload.owner_id, payload.visibility, None)
    if isinstance(payload, ModelConsentWithdrawn):
        return VersionWithdrawn(payload.model_id, payload.version)
    return None


def samples_consumer(app: web.Application) -> JetStreamConsumer:
    pool = app[DB]

    async def on_model_event(event: CloudEvent, msg: Msg) -> None:
        if event.nats_subject not in (ModelSettingsChanged.subject, ModelTrained.subject,
                                      ModelConsentWithdrawn.subject):
            return  # queued: nothing about who sees samples
        if msg.metadata is None or msg.metadata.sequence is None:
            raise Poison("no stream sequence on a JetStream message")
        seq = msg.metadata.sequence.stream
        change = sample_change(event.payload(), seq)
        if isinstance(change, VisibilitySeen):
            applied = await apply_model_visibility(pool, change.model_id, change.owner_id, change.visibility,
                                                   change.stream_seq)
            log.info("assets.model_samples.visibility" if applied else "assets.model_samples.stale",
                     model_id=change.model_id, visibility=change.visibility, seq=seq)
        elif isinstance(change, VersionWithdrawn):
            await withdraw_model_version(pool, change.model_id, change.version)
            log.info("assets.model_samples.withdrawn", model_id=change.model_id, version=change.version)

    return JetStreamConsumer(app[NC], app[JS], SAMPLES_CONSUMER, on_model_event)
