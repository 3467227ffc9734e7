"""The CloudEvents 1.0 envelope (structured JSON mode) with Atelier's extensions.

Extensions: `correlationid` (the request that started it all), `causationid` (the event or
request that directly caused this one) and, on delivery to WebSocket clients only, `sequence`
(the stream position, so a reconnecting client can resume).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from shared.contracts.events.registry import EventPayload, payload_model
from shared.ids import new_id

TYPE_PREFIX = "atelier."


class CloudEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=new_id)
    source: str
    type: str
    subject: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]
    correlationid: str | None = None
    causationid: str | None = None
    sequence: str | None = None

    @field_serializer("time")
    def _rfc3339(self, value: datetime) -> str:
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    @property
    def nats_subject(self) -> str:
        return self.type.removeprefix(TYPE_PREFIX)

    def payload(self) -> EventPayload:
        return payload_model(self.nats_subject).model_validate(self.data)

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


def make_event(
    payload: EventPayload,
    *,
    service: str,
    subject_id: str,
    correlation_id: str | None = None,
    causation_id: str | None = None,
) -> CloudEvent:
    if not getattr(type(payload), "subject", None):
        raise TypeError(f"{type(payload).__name__} is not a registered event payload")
    return CloudEvent(
        source=f"atelier/{service}",
        type=TYPE_PREFIX + type(payload).subject,
        subject=subject_id,
        data=payload.model_dump(mode="json"),
        correlationid=correlation_id,
        causationid=causation_id,
    )


def parse_event(raw: bytes | str) -> CloudEvent:
    """Parse and check an envelope, including its payload against the registry."""
    event = CloudEvent.model_validate_json(raw)
    event.payload()
    return event
