"""The event side of webhooks: one durable consumer per event stream (shared by every replica:
JetStream hands each message to one of them) turns each event into a delivery row for every
enabled endpoint subscribed to its type whose owner may see it (the platform's one audience rule,
`shared.contracts.events.audience`); `webhooks.endpoint.disabled` goes out through the outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from services.webhooks import store
from services.webhooks.settings import WebhooksSettings
from shared.contracts.events.audience import describe
from shared.contracts.events.catalog import WebhookEndpointDisabled, WebhookEndpointTest
from shared.contracts.events.envelope import CloudEvent, make_event
from shared.ids import new_id
from shared.logging import get_logger
from shared.messaging.consumer import ConsumerSpec, EventHandler, JetStreamConsumer
from shared.messaging.publisher import event_in_context
from shared.messaging.streams import EVENT_STREAMS
from shared.outbox import enqueue

log = get_logger(__name__)
SERVICE = "webhooks"
SCHEMA = "webhooks"
STREAMS = tuple(EVENT_STREAMS)  # COMMUNITY, ASSETS, TRAINER, INFERENCE, WEBHOOKS
# An endpoint receives events from shortly before it was created on (not a stream's whole history
# when a fresh consumer starts from the beginning).
CREATED_TOLERANCE = timedelta(seconds=5)


def consumer_spec(stream: str, settings: WebhooksSettings) -> ConsumerSpec:
    return ConsumerSpec(stream=stream, durable=f"webhooks-{stream.lower()}", filter_subject=EVENT_STREAMS[stream],
                        ack_wait_s=settings.webhooks_consumer_ack_wait_s, max_deliver=20, batch=32,
                        max_ack_pending=1000)


def test_event_body(endpoint_id: str, owner_id: str) -> tuple[str, str]:
    event = make_event(WebhookEndpointTest(endpoint_id=endpoint_id, owner_id=owner_id),
                       service=SERVICE, subject_id=endpoint_id)
    return event.id, event.to_json().decode()


class Fanout:
    """Event → delivery rows (idempotent: a redelivered event adds nothing)."""

    def __init__(self, pool: asyncpg.Pool, wake: Callable[[], None]) -> None:
        self._pool = pool
        self._wake = wake

    async def handle(self, stream: str, event: CloudEvent, msg: Msg) -> int:
        if event.nats_subject == "community.user.deleted":
            user_id = event.data.get("user_id")
            if isinstance(user_id, str):
                removed = await store.delete_owner(self._pool, user_id)
                log.info("webhooks.owner_deleted", endpoints=removed)
            return 0
        seq = msg.metadata.sequence.stream if msg.metadata else 0
        info = describe(stream, seq, msg.data)
        if not info.body or not (info.owner_id or info.public):
            return 0
        created_before = event.time.astimezone(UTC) + CREATED_TOLERANCE
        async with self._pool.acquire() as conn, conn.transaction():
            endpoint_ids = await store.subscribed_endpoints(conn, info.subject, info.owner_id, info.public,
                                                            created_before)
            rows = [(new_id(), e, event.id, info.subject, info.body) for e in endpoint_ids]
            added = await store.insert_deliveries(conn, rows)
        if added:
            self._wake()
        return added


def build_consumers(settings: WebhooksSettings, nc: NATS, js: JetStreamContext, fanout: Fanout,
                    ) -> list[JetStreamConsumer]:
    def handler(stream: str) -> EventHandler:
        async def handle(event: CloudEvent, msg: Msg) -> None:
            await fanout.handle(stream, event, msg)
        return handle

    return [JetStreamConsumer(nc, js, consumer_spec(s, settings), handler(s)) for s in STREAMS]


async def endpoint_disabled(conn: asyncpg.Connection, row: asyncpg.Record, reason: str, delivery_id: str) -> None:
    payload = WebhookEndpointDisabled(endpoint_id=row["id"], owner_id=row["owner_id"], url=row["url"], reason=reason,
                                      failed_delivery_id=delivery_id, disabled_at=datetime.now(UTC))
    await enqueue(conn, SCHEMA, event_in_context(payload, service=SERVICE, subject_id=row["id"]))
