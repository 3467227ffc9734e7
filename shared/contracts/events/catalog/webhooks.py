"""Events of the webhooks service about subscribers' endpoints."""

from __future__ import annotations

from datetime import datetime

from shared.contracts.events.registry import EventPayload


class WebhookEndpointDisabled(EventPayload, subject="webhooks.endpoint.disabled"):
    """A webhook endpoint kept failing until its retry schedule ran out (about a day) and was
    switched off; nothing more is delivered to it until its owner enables it again (PATCH
    /v1/webhooks/{id} {"enabled": true})."""

    endpoint_id: str
    owner_id: str
    url: str
    reason: str
    failed_delivery_id: str | None = None
    disabled_at: datetime


class WebhookEndpointTest(EventPayload, subject="webhooks.endpoint.test"):
    """A test message sent to one endpoint by POST /v1/webhooks/{id}/test (never on a stream)."""

    endpoint_id: str
    owner_id: str
    message: str = "This is a test delivery from Atelier."
