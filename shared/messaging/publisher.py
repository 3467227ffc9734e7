"""Publishing events to JetStream, deduplicated by event id."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import PubAck

from shared.contracts.events.envelope import CloudEvent, make_event
from shared.contracts.events.registry import EventPayload
from shared.logging import get_context
from shared.messaging import context


async def publish_event(js: JetStreamContext, event: CloudEvent, *, timeout: float) -> PubAck:
    """Publish with `Nats-Msg-Id` = event id, so a retried publish is stored once."""
    headers = {"Nats-Msg-Id": event.id}
    if event.correlationid:
        headers[context.CORRELATION_ID] = event.correlationid
    return await js.publish(event.nats_subject, event.to_json(), headers=headers, timeout=timeout)


def event_in_context(payload: EventPayload, *, service: str, subject_id: str) -> CloudEvent:
    """Build an event whose correlation and causation come from the current request context."""
    ctx = get_context()
    correlation = ctx.get("correlation_id") or ctx.get("request_id")
    return make_event(
        payload,
        service=service,
        subject_id=subject_id,
        correlation_id=correlation,
        causation_id=ctx.get("causation_id") or ctx.get("request_id"),
    )
