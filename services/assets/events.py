"""What assets publishes (through the outbox) and what it consumes (community's work events; the
trainer's model events in sample_visibility.py)."""

from __future__ import annotations

from aiohttp import web
from nats.aio.msg import Msg

from services.assets.sample_visibility import samples_consumer
from services.assets.store import AssetRow, apply_work_state
from shared.contexts import DB, JS, NC
from shared.contracts.events.catalog import AssetDeleted, AssetStored, WorkDeleted, WorkPublished, WorkUpdated
from shared.contracts.events.envelope import CloudEvent
from shared.logging import get_logger
from shared.messaging.consumer import ConsumerSpec, JetStreamConsumer, Poison
from shared.messaging.publisher import event_in_context

log = get_logger(__name__)
SERVICE = "assets"
VISIBILITY_CONSUMER = ConsumerSpec(stream="COMMUNITY", durable="assets-work-visibility",
                                   filter_subject="community.work.>", batch=16)


def stored_event(row: AssetRow) -> CloudEvent:
    payload = AssetStored.model_validate({
        "asset_id": row.id, "owner_id": row.owner_id, "sha256": row.sha256, "content_type": row.content_type,
        "width": row.width, "height": row.height, "size": row.size, "kind": row.kind, "palette": row.palette})
    return event_in_context(payload, service=SERVICE, subject_id=row.id)


def deleted_event(row: AssetRow) -> CloudEvent:
    return event_in_context(AssetDeleted(asset_id=row.id, owner_id=row.owner_id), service=SERVICE,
                            subject_id=row.id)


def build_consumers(app: web.Application) -> list[JetStreamConsumer]:
    pool = app[DB]

    async def on_work_event(event: CloudEvent, msg: Msg) -> None:
        """Keep `work_assets` in step; the stream sequence orders events per work."""
        if event.nats_subject not in (WorkPublished.subject, WorkUpdated.subject, WorkDeleted.subject):
            return  # likes, comments: not about visibility
        if msg.metadata is None or msg.metadata.sequence is None:
            raise Poison("no stream sequence on a JetStream message")
        seq = msg.metadata.sequence.stream
        payload = event.payload()
        if not isinstance(payload, WorkPublished | WorkUpdated | WorkDeleted):
            return
        visibility = None if isinstance(payload, WorkDeleted) else payload.visibility
        async with pool.acquire() as conn, conn.transaction():
            applied = await apply_work_state(conn, payload.work_id, seq, visibility=visibility,
                                             asset_ids=payload.asset_ids)
        log.info("assets.work_visibility.applied" if applied else "assets.work_visibility.stale",
                 work_id=payload.work_id, visibility=visibility, seq=seq)

    return [JetStreamConsumer(app[NC], app[JS], VISIBILITY_CONSUMER, on_work_event), samples_consumer(app)]
