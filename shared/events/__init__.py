"""CloudEvents envelope, the event registry and the catalog of every event the platform emits."""

from shared.events.envelope import CloudEvent, make_event, parse_event
from shared.events.registry import EventPayload, payload_model, registered_subjects

__all__ = ["CloudEvent", "EventPayload", "make_event", "parse_event", "payload_model", "registered_subjects"]
