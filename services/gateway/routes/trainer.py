"""Public routes served by the trainer service: style models, their training, cancel and refine.

Each route is bound to its `svc.trainer.*` operation; the body and query are validated with the
contract's models (the service validates again). Someone else's model is a 404, like a missing one.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.gateway.openapi import Schemas
from services.gateway.routing import Route, add_routes
from services.gateway.settings import GatewaySettings
from shared.contracts import trainer as t
from shared.contracts.trainer_advice import TrainingSetAdviceQuery

TAG = "models"

ROUTES = [
    Route("POST", "/v1/models", t.MODELS_CREATE, body=t.StyleModelCreate, status=202, location="/v1/models/{id}"),
    Route("GET", "/v1/models", t.MODELS_LIST, query=t.StyleModelListQuery),
    Route("GET", "/v1/models/{id}", t.MODELS_GET),
    Route("GET", r"/v1/models/{id}/versions/{version:\d+}/directions", t.MODELS_DIRECTIONS),
    Route("POST", "/v1/models/{id}/cancel", t.MODELS_CANCEL, status=202),
    Route("POST", "/v1/models/{id}/refine", t.MODELS_REFINE, body=t.StyleModelRefineBody, status=202,
          location="/v1/models/{id}"),
    Route("PATCH", "/v1/models/{id}", t.MODELS_UPDATE, body=t.StyleModelSettings),
    Route("POST", "/v1/models/{id}/retrain", t.MODELS_RETRAIN, body=t.StyleModelRetrainBody, status=202,
          location="/v1/models/{id}"),
    Route("GET", "/v1/me/training-uses", t.TRAINING_USES, query=t.TrainingUsesQuery),
    Route("GET", "/v1/models/{id}/training-set/advice", t.MODELS_ADVICE, query=TrainingSetAdviceQuery),
]


def streamed_docs(schemas: Schemas) -> dict[tuple[str, str], dict[str, Any]]:
    return {}  # no streamed routes: every route is in the table


def setup(app: web.Application, settings: GatewaySettings) -> None:
    """Register this module's routes on the gateway."""
    add_routes(app, ROUTES)
