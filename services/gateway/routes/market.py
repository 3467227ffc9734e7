"""Public routes served by the market service: credits, model prices, licence trades and certificates.

Each route is bound to its `svc.market.*` operation. Credits are integers (2.5 or "3" is a 422).
`POST /v1/licences/verify` answers 200 with `valid: false` for a certificate that does not check.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.gateway.openapi import Schemas
from services.gateway.routing import Route, add_routes
from services.gateway.settings import GatewaySettings
from shared.contracts import market as m

TAG = "market"

ROUTES = [
    Route("GET", "/v1/me/credits", m.CREDITS_GET),
    Route("GET", "/v1/me/credits/statement", m.CREDITS_STATEMENT, query=m.StatementQuery),
    Route("PUT", "/v1/models/{id}/pricing", m.PRICING_SET, body=m.ModelPricingBody),
    Route("GET", "/v1/models/{id}/pricing", m.PRICING_GET),
    Route("POST", "/v1/works/{id}/licence-requests", m.LICENCE_REQUESTS_CREATE, body=m.LicenceRequestBody,
          status=201),
    Route("GET", "/v1/me/licence-requests", m.LICENCE_REQUESTS_LIST, query=m.LicenceRequestQuery),
    Route("POST", "/v1/licence-requests/{id}/accept", m.LICENCE_REQUESTS_ACCEPT),
    Route("POST", "/v1/licence-requests/{id}/decline", m.LICENCE_REQUESTS_DECLINE),
    Route("GET", "/v1/me/licences", m.LICENCES_LIST, query=m.LicencesQuery),
    Route("GET", "/v1/licences/{id}/certificate", m.LICENCES_CERTIFICATE),
    Route("POST", "/v1/licences/verify", m.LICENCES_VERIFY, body=m.LicenceVerifyBody),
]


def streamed_docs(schemas: Schemas) -> dict[tuple[str, str], dict[str, Any]]:
    return {}  # no streamed routes: every route is in the table


def setup(app: web.Application, settings: GatewaySettings) -> None:
    """Register this module's routes on the gateway."""
    add_routes(app, ROUTES)
