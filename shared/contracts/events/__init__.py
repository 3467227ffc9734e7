"""CloudEvents envelope, the event registry and the catalog of every event the platform emits.

The registry is imported first and the catalog right after it, so that every payload class is
registered before anything looks a subject up (the registry itself imports nothing of the catalog).
"""

from shared.contracts.events.registry import EventPayload, payload_model, registered_subjects  # isort: skip
from shared.contracts.events import catalog  # isort: skip
from shared.contracts.events.envelope import CloudEvent, make_event, parse_event

__all__ = ["CloudEvent", "EventPayload", "catalog", "make_event", "parse_event", "payload_model",
           "registered_subjects"]
