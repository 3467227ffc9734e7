"""Public routes served by the webhooks service: endpoints, their secrets, test events and the
record of deliveries. Someone else's endpoint is a 404, like a missing one."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.gateway.openapi import Schemas
from services.gateway.routing import Route, add_routes
from services.gateway.settings import GatewaySettings
from shared.contracts import webhooks as w

TAG = "webhooks"

ROUTES = [
    Route("POST", "/v1/webhooks", w.ENDPOINTS_CREATE, body=w.EndpointCreate, status=201, location="/v1/webhooks/{id}"),
    Route("GET", "/v1/webhooks", w.ENDPOINTS_LIST, query=w.EndpointListQuery),
    Route("GET", "/v1/webhooks/{id}", w.ENDPOINTS_GET),
    Route("PATCH", "/v1/webhooks/{id}", w.ENDPOINTS_UPDATE, body=w.EndpointPatch),
    Route("DELETE", "/v1/webhooks/{id}", w.ENDPOINTS_DELETE, status=204),
    Route("POST", "/v1/webhooks/{id}/rotate-secret", w.ENDPOINTS_ROTATE),
    Route("POST", "/v1/webhooks/{id}/test", w.ENDPOINTS_TEST, status=202),
    Route("POST", "/v1/webhooks/{id}/replay", w.ENDPOINTS_REPLAY, body=w.ReplayBody, status=202),
    Route("GET", "/v1/webhooks/{id}/deliveries", w.DELIVERIES_LIST, query=w.DeliveryListBody),
    Route("POST", "/v1/webhooks/{id}/deliveries/{delivery_id}/retry", w.DELIVERIES_RETRY, status=202),
]


def streamed_docs(schemas: Schemas) -> dict[tuple[str, str], dict[str, Any]]:
    return {}  # every route is in the table


def setup(app: web.Application, settings: GatewaySettings) -> None:
    """Register this module's routes on the gateway."""
    add_routes(app, ROUTES)
