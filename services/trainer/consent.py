"""Consent that binds after training.

Community's events say when a work's training consent ends: `community.work.updated` with
`allow_training` false, `community.user.training_consent_changed` (the whole account),
`community.work.deleted`, `community.user.deleted`. The trainer records the
withdrawal and, in the same transaction, marks every version trained on the work
`consent_withdrawn` and announces `trainer.model.consent_withdrawn` (outbox) — inference stops
serving and unloads it. A version published after the withdrawal (a job already running) is marked
as it is published (`after_publish`). Counting generations per version
(`inference.generation.completed`) feeds the training uses and the `popular` sort.
"""

from __future__ import annotations

import asyncpg
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from services.trainer import consent_store
from services.trainer.consent_store import AffectedVersion
from services.trainer.store import JobRow, ModelRow
from shared.contracts.events.catalog import (
    ConsentReason,
    GenerationCompleted,
    ModelConsentWithdrawn,
    UserDeleted,
    UserTrainingConsentChanged,
    WorkDeleted,
    WorkUpdated,
)
from shared.contracts.events.envelope import CloudEvent
from shared.logging import get_logger
from shared.messaging.consumer import ConsumerSpec, JetStreamConsumer
from shared.messaging.publisher import event_in_context
from shared.outbox import enqueue

log = get_logger(__name__)
SCHEMA = "trainer"

CONSENT_SPEC = ConsumerSpec(stream="COMMUNITY", durable="trainer-consent", filter_subject="",
                            filter_subjects=("community.work.updated", "community.work.deleted",
                                             "community.user.deleted", "community.user.training_consent_changed"),
                            max_deliver=20)
USAGE_SPEC = ConsumerSpec(stream="INFERENCE", durable="trainer-usage",
                          filter_subject="inference.generation.completed", max_deliver=20)


def withdrawn_event(v: AffectedVersion, reason: ConsentReason) -> CloudEvent:
    return event_in_context(ModelConsentWithdrawn(
        model_id=v.model_id, owner_id=v.owner_id, version=v.version, work_ids=list(v.work_ids), reason=reason,
        withdrawn_at=v.withdrawn_at), service=SCHEMA, subject_id=v.model_id)


async def _mark(conn: asyncpg.Connection, reason: ConsentReason, model_id: str | None = None) -> list[AffectedVersion]:
    affected = await consent_store.mark_withdrawn_versions(conn, model_id)
    for v in affected:
        await enqueue(conn, SCHEMA, withdrawn_event(v, reason))
        log.info("trainer.model.consent_withdrawn", model_id=v.model_id, version=v.version,
                 works=v.work_ids, reason=reason)
    return affected


async def withdraw(pool: asyncpg.Pool, works: list[tuple[str, str]], reason: ConsentReason) -> list[AffectedVersion]:
    """(work_id, author_id) pairs lose consent: record it and mark the versions trained on them."""
    if not works:
        return []
    async with pool.acquire() as conn, conn.transaction():
        await consent_store.withdraw_works(conn, works, reason)
        return await _mark(conn, reason)


async def on_community_event(pool: asyncpg.Pool, event: CloudEvent) -> None:
    payload = event.payload()
    if isinstance(payload, WorkUpdated):
        if payload.allow_training:
            await consent_store.restore_consent(pool, payload.work_id)
        else:
            await withdraw(pool, [(payload.work_id, payload.author_id)], "consent_withdrawn")
    elif isinstance(payload, WorkDeleted):
        await withdraw(pool, [(payload.work_id, payload.author_id)], "work_deleted")
    elif isinstance(payload, UserTrainingConsentChanged):
        if payload.allow_training:
            await consent_store.restore_account_consent(pool, payload.user_id)
        else:
            works = await consent_store.works_of_author(pool, payload.user_id)
            await withdraw(pool, [(w, payload.user_id) for w in works], "account_consent_withdrawn")
    elif isinstance(payload, UserDeleted):
        works = await consent_store.works_of_author(pool, payload.user_id)
        await withdraw(pool, [(w, payload.user_id) for w in works], "account_deleted")


async def after_publish(conn: asyncpg.Connection, model: ModelRow, job: JobRow, images_total: int) -> None:
    """Inside the transaction that publishes a version: its training record, and its withdrawal at once
    when one of its works lost consent while it trained."""
    await consent_store.record_version_works(conn, model, job.version, images_total)
    await _mark(conn, "consent_withdrawn", model.id)


def build_consumers(nc: NATS, js: JetStreamContext, pool: asyncpg.Pool) -> list[JetStreamConsumer]:
    async def community_events(event: CloudEvent, _msg: Msg) -> None:
        await on_community_event(pool, event)

    async def generations(event: CloudEvent, _msg: Msg) -> None:
        payload = event.payload()
        if isinstance(payload, GenerationCompleted):
            await consent_store.count_generation(pool, payload.generation_id, payload.model_id, payload.version)

    return [JetStreamConsumer(nc, js, CONSENT_SPEC, community_events),
            JetStreamConsumer(nc, js, USAGE_SPEC, generations)]
