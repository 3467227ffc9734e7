"""The webhooks service's contract (`svc.webhooks.*`): endpoints that receive the events their owner
may see, signed per Standard Webhooks, and the record of every delivery.

Every operation acts as the calling user; someone else's endpoint is a 404, like a missing one.
The gateway checks the shape of a URL and the event types; the service checks the rest (https,
where the host resolves to, the per-user limit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AwareDatetime, Field, StringConstraints, field_validator

from shared.contracts.common import Listing, Reply, Strict
from shared.contracts.events import registered_subjects
from shared.contracts.events.audience import may_be_seen
from shared.contracts.operation import operation

SERVICE = "webhooks"
MAX_LIMIT = 100
MAX_URL_LENGTH = 2048
MAX_EVENT_TYPES = 50
MAX_REPLAY = 10_000
TEST_EVENT = "webhooks.endpoint.test"

WebhookId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z]+$")]
EndpointStatus = Literal["enabled", "disabled"]
DeliveryStatus = Literal["pending", "succeeded", "failed"]


def subscribable_types() -> list[str]:
    """The event types an endpoint may subscribe to: every registered subject somebody may see."""
    return [s for s in registered_subjects() if may_be_seen(s) and s != TEST_EVENT]


def _url(value: str) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("the URL must start with https:// (or http:// where allowed)")
    if not parts.hostname:
        raise ValueError("the URL must name a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the URL must not carry credentials")
    if parts.fragment:
        raise ValueError("the URL must not have a #fragment")
    if any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError("the URL must not contain spaces or control characters")
    return value


def _event_types(value: list[str]) -> list[str]:
    allowed = subscribable_types()
    unknown = [t for t in value if t not in allowed]
    if unknown:
        raise ValueError(f"unknown event type(s) {unknown[:5]}; subscribable: {', '.join(allowed)}")
    return sorted(set(value))


Url = Annotated[str, StringConstraints(min_length=1, max_length=MAX_URL_LENGTH)]
EventTypes = Annotated[list[Annotated[str, StringConstraints(max_length=100)]],
                       Field(min_length=1, max_length=MAX_EVENT_TYPES)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


# -- requests -------------------------------------------------------------------------------------


class EndpointCreate(Strict):
    """A new endpoint: where to POST and which event types to send there."""

    url: Url = Field(description="https:// URL that receives the events (http:// and loopback only where the "
                     "deployment allows them); redirects are not followed")
    event_types: EventTypes = Field(description="event types to deliver, e.g. `inference.generation.completed`; "
                                    "only events you may see are delivered")
    description: Description = Field("", description="a note for yourself")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _url(value)

    @field_validator("event_types")
    @classmethod
    def _check_types(cls, value: list[str]) -> list[str]:
        return _event_types(value)


class EndpointPatch(Strict):
    """What may change about an endpoint (each field optional)."""

    url: Url | None = Field(None, description="a new URL (checked like a new endpoint's)")
    event_types: EventTypes | None = Field(None, description="the new list of event types")
    description: Description | None = Field(None, description="a note for yourself")
    enabled: bool | None = Field(None, description="false pauses deliveries; true resumes them "
                                 "(also after the endpoint was disabled for failing)")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else _url(value)

    @field_validator("event_types")
    @classmethod
    def _check_types(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _event_types(value)


class EndpointRef(Strict):
    """One of the caller's endpoints."""

    id: WebhookId = Field(description="The endpoint's id (a ULID)")


class EndpointUpdate(EndpointPatch, EndpointRef):
    """Change the endpoint `id`."""


class EndpointListQuery(Strict):
    """`?limit=&cursor=` over your endpoints, newest first."""

    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = Field(
        20, description=f"Endpoints per page (at most {MAX_LIMIT})")
    cursor: WebhookId | None = Field(None, description="`next_cursor` of the previous page")


class DeliveryListBody(Strict):
    """`?status=&limit=&cursor=` over an endpoint's deliveries, newest first."""

    status: DeliveryStatus | None = Field(None, description="only deliveries in this state")
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = Field(
        20, description=f"Deliveries per page (at most {MAX_LIMIT})")
    cursor: WebhookId | None = Field(None, description="`next_cursor` of the previous page")


class DeliveryListQuery(DeliveryListBody, EndpointRef):
    """The deliveries of endpoint `id`."""


class ReplayBody(Strict):
    """Send again every delivery recorded for the endpoint since a time."""

    since: AwareDatetime = Field(description="RFC 3339 time with offset: deliveries created at or after it are "
                                 "attempted again (once each, same `webhook-id`); pending ones keep their schedule")


class EndpointReplay(ReplayBody, EndpointRef):
    """Replay the deliveries of endpoint `id`."""


class DeliveryRef(EndpointRef):
    """One delivery of one of the caller's endpoints."""

    delivery_id: WebhookId = Field(description="The delivery's id (also its `webhook-id` header, a ULID)")


# -- responses ------------------------------------------------------------------------------------


class Endpoint(Reply):
    id: str
    url: str
    description: str
    event_types: list[str]
    status: EndpointStatus = Field(description="disabled: paused by its owner or switched off after failing")
    disabled_reason: str | None = None
    secret_rotated_at: datetime | None = None
    previous_secret_expires_at: datetime | None = Field(
        None, description="until then deliveries carry a second signature made with the previous secret")
    created_at: datetime
    updated_at: datetime


class EndpointCreated(Endpoint):
    secret: str = Field(description="the signing secret (`whsec_...`): shown once, keep it")


class SecretRotated(Endpoint):
    secret: str = Field(description="the new signing secret (`whsec_...`): shown once")


class EndpointListing(Listing[Endpoint]):
    pass


class Delivery(Reply):
    id: str = Field(description="also the `webhook-id` header: the same on every attempt")
    endpoint_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int = Field(description="attempts made so far")
    next_attempt_at: datetime | None = Field(None, description="when the next attempt is due (pending only)")
    response_status: int | None = Field(None, description="HTTP status of the latest attempt (null: no answer)")
    error: str | None = Field(None, description="why the latest attempt failed, when it did")
    latency_ms: float | None = Field(None, description="duration of the latest attempt")
    created_at: datetime
    delivered_at: datetime | None = None


class DeliveryListing(Listing[Delivery]):
    pass


class Replayed(Reply):
    id: str
    since: datetime
    replayed: int = Field(description=f"deliveries due again now (at most {MAX_REPLAY} per call: call again "
                          "with a later `since` for more)")


class Deleted(Reply):
    id: str
    deleted: bool = True


# -- operations -----------------------------------------------------------------------------------

ENDPOINTS_CREATE = operation(SERVICE, "endpoints.create", EndpointCreate, EndpointCreated,
                             summary="Register a webhook endpoint (its secret is shown once); past the "
                                     "per-user limit a 429", problems=(422, 429))
ENDPOINTS_LIST = operation(SERVICE, "endpoints.list", EndpointListQuery, EndpointListing,
                           summary="Your webhook endpoints, newest first", problems=(400,))
ENDPOINTS_GET = operation(SERVICE, "endpoints.get", EndpointRef, Endpoint,
                          summary="One of your webhook endpoints", problems=(404,))
ENDPOINTS_UPDATE = operation(SERVICE, "endpoints.update", EndpointUpdate, Endpoint,
                             summary="Change a webhook endpoint's URL, event types, note or state",
                             problems=(404, 422))
ENDPOINTS_DELETE = operation(SERVICE, "endpoints.delete", EndpointRef, Deleted,
                             summary="Delete a webhook endpoint and its delivery record", problems=(404,))
ENDPOINTS_ROTATE = operation(SERVICE, "endpoints.rotate_secret", EndpointRef, SecretRotated,
                             summary="A new signing secret; the old one keeps signing beside it for a while (24 h)",
                             problems=(404,))
ENDPOINTS_TEST = operation(SERVICE, "endpoints.test", EndpointRef, Delivery,
                           summary="Send a test event (`webhooks.endpoint.test`) to the endpoint", problems=(404,))
ENDPOINTS_REPLAY = operation(SERVICE, "endpoints.replay", EndpointReplay, Replayed,
                             summary="Send again every delivery recorded since a time (the endpoint must be enabled)",
                             problems=(404, 409))
DELIVERIES_LIST = operation(SERVICE, "deliveries.list", DeliveryListQuery, DeliveryListing,
                            summary="An endpoint's deliveries: status, attempts, response code, latency",
                            problems=(404,))
DELIVERIES_RETRY = operation(SERVICE, "deliveries.retry", DeliveryRef, Delivery,
                             summary="Attempt a delivery again now (once; the endpoint must be enabled)",
                             problems=(404, 409))
