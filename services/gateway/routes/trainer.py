"""Public routes served by the trainer service: style models, their training, cancel and refine.

Bodies are validated here with the trainer's own models (the service validates again) and
forwarded to `svc.trainer.<op>` as the caller. Someone else's model is a 404, like a missing one.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.gateway.auth import require_user
from services.gateway.http import RPC_TIMEOUT, json_response, read_body, read_query
from services.gateway.openapi import BEARER, ID_PARAMETER, json_content, problem
from services.trainer.schemas import ListQuery, ModelCreate, RefineBody
from shared.contexts import NC
from shared.messaging.rpc import rpc_call

SERVICE = "trainer"
IDEMPOTENCY_KEY = "Idempotency-Key"
CREATE_TIMEOUT_S = 30.0  # asks community for consent before queueing


async def _call(request: web.Request, op: str, payload: Any, *, timeout: float | None = None) -> Any:
    user = require_user(request)
    headers = {}
    if request.method == "POST" and IDEMPOTENCY_KEY in request.headers:
        headers[IDEMPOTENCY_KEY] = request.headers[IDEMPOTENCY_KEY]
    return await rpc_call(request.app[NC], SERVICE, op, payload, timeout=timeout or request.app[RPC_TIMEOUT],
                          actor_id=user.id, headers=headers)


async def create_model(request: web.Request) -> web.Response:
    require_user(request)
    body = await read_body(request, ModelCreate)
    model = await _call(request, "models.create", body.model_dump(mode="json", exclude_none=True),
                        timeout=CREATE_TIMEOUT_S)
    return json_response(model, status=202, headers={"Location": f"/v1/models/{model['id']}"})


async def list_models(request: web.Request) -> web.Response:
    require_user(request)
    query = read_query(request, ListQuery)
    return json_response(await _call(request, "models.list", query.model_dump(exclude_none=True)))


async def get_model(request: web.Request) -> web.Response:
    return json_response(await _call(request, "models.get", {"id": request.match_info["id"]}))


async def cancel_model(request: web.Request) -> web.Response:
    return json_response(await _call(request, "models.cancel", {"id": request.match_info["id"]}), status=202)


async def refine_model(request: web.Request) -> web.Response:
    require_user(request)
    body = await read_body(request, RefineBody)
    result = await _call(request, "models.refine",
                         {"id": request.match_info["id"], **body.model_dump(exclude_none=True)})
    return json_response(result, status=202, headers={"Location": f"/v1/models/{result['id']}"})


def setup(app: web.Application, settings: object = None) -> None:
    """Register this module's routes on the gateway."""
    app.router.add_post("/v1/models", create_model)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/v1/models/{id}", get_model)
    app.router.add_post("/v1/models/{id}/cancel", cancel_model)
    app.router.add_post("/v1/models/{id}/refine", refine_model)


# -- OpenAPI -------------------------------------------------------------------------------------

_TAGS = ["models"]
_LOSSES = {"type": "object", "additionalProperties": {"type": "number"}}
_PROGRESS = {"type": ["object", "null"], "properties": {
    "version": {"type": "integer"}, "kind": {"type": "string", "enum": ["train", "refine"]},
    "step": {"type": "integer"}, "total_steps": {"type": "integer"}, "losses": _LOSSES,
    "eta_s": {"type": ["number", "null"]},
    "resumed_from_step": {"type": ["integer", "null"],
                          "description": "set when a worker resumed the job from its checkpoint"},
    "checkpoint_step": {"type": ["integer", "null"]}, "attempts": {"type": "integer"},
    "cancel_requested": {"type": "boolean"}}}
_VERSION = {"type": "object", "required": ["version", "created_at", "metrics", "dataset_sha256"], "properties": {
    "version": {"type": "integer"}, "created_at": {"type": "string", "format": "date-time"},
    "metrics": {"type": "object", "description": "swd and swd_untrained (sliced Wasserstein distance x 1e3 on "
                "Laplacian-pyramid patches, lower is closer to the training images), recon_error and "
                "recon_error_untrained for VAEs, onnx_max_abs_diff of the export against torch"},
    "dataset_sha256": {"type": "string"}, "steps": {"type": "integer"},
    "repository_path": {"type": "string"}, "sample_asset_id": {"type": ["string", "null"]}}}
_STATUS = {"type": "string", "enum": ["queued", "running", "succeeded", "failed", "canceled"]}
_MODEL = {"type": "object", "required": ["id", "name", "architecture", "image_size", "status", "progress",
                                         "versions", "samples"], "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "owner_id": {"type": "string"},
    "architecture": {"type": "string", "enum": ["dcgan", "vae"]}, "image_size": {"type": "integer"},
    "width": {"type": "integer"}, "status": _STATUS, "error": {"type": ["string", "null"]},
    "work_ids": {"type": "array", "items": {"type": "string"}}, "collection_id": {"type": ["string", "null"]},
    "created_at": {"type": "string", "format": "date-time"}, "progress": _PROGRESS,
    "versions": {"type": "array", "items": _VERSION}, "latest_version": {"type": ["integer", "null"]},
    "samples": {"type": "array", "items": {"type": "string"}, "description": "sample-grid asset ids, newest first"}}}
_ACCEPTED = {"type": "object", "required": ["id", "status"], "properties": {
    "id": {"type": "string"}, "status": {"type": "string"}, "version": {"type": "integer"}}}

OPENAPI_PATHS: dict[str, Any] = {
    "/v1/models": {
        "post": {
            "summary": "Train a style model on consented works (queued; watch progress on /v1/events)",
            "operationId": "createModel", "tags": _TAGS, "security": BEARER,
            "requestBody": {"required": True, "content": json_content(ModelCreate.model_json_schema())},
            "responses": {"202": {"description": "accepted: the model with status queued",
                                  "content": json_content(_MODEL)},
                          "400": problem("malformed JSON"), "401": problem("no or bad token"),
                          "404": problem("unknown collection"), "415": problem("body is not application/json"),
                          "422": problem("invalid fields, or works that may not be used for training "
                                          "(`refused` lists them, `errors` says why)"),
                          "429": problem("too many of your jobs are queued or running")}},
        "get": {
            "summary": "Your style models, newest first", "operationId": "listModels", "tags": _TAGS,
            "security": BEARER,
            "parameters": [{"name": n, "in": "query", "required": False, "schema": s}
                           for n, s in ListQuery.model_json_schema()["properties"].items()],
            "responses": {"200": {"description": "a page", "content": json_content({"type": "object", "properties": {
                "items": {"type": "array", "items": {"type": "object"}},
                "next_cursor": {"type": ["string", "null"]}}})},
                "401": problem("no or bad token"), "422": problem("bad limit or cursor")}},
    },
    "/v1/models/{id}": {"get": {
        "summary": "A style model: status, progress, versions with metrics, sample grids",
        "operationId": "getModel", "tags": _TAGS, "security": BEARER, "parameters": [ID_PARAMETER],
        "responses": {"200": {"description": "the model", "content": json_content(_MODEL)},
                      "401": problem("no or bad token"), "404": problem("unknown, or not yours")}}},
    "/v1/models/{id}/cancel": {"post": {
        "summary": "Cancel the queued or running job (a running one stops within seconds)",
        "operationId": "cancelModel", "tags": _TAGS, "security": BEARER, "parameters": [ID_PARAMETER],
        "responses": {"202": {"description": "canceled, or canceling", "content": json_content(_ACCEPTED)},
                      "401": problem("no or bad token"), "404": problem("unknown, or not yours"),
                      "409": problem("nothing is queued or running")}}},
    "/v1/models/{id}/refine": {"post": {
        "summary": "Fine-tune the latest version on the original works plus your top-rated generations",
        "operationId": "refineModel", "tags": _TAGS, "security": BEARER, "parameters": [ID_PARAMETER],
        "requestBody": {"required": True, "content": json_content(RefineBody.model_json_schema())},
        "responses": {"202": {"description": "the new version is queued", "content": json_content(_ACCEPTED)},
                      "400": problem("malformed JSON"), "401": problem("no or bad token"),
                      "404": problem("unknown, or not yours"), "409": problem("no trained version yet, or "
                                                                                 "already training"),
                      "415": problem("body is not application/json"), "422": problem("steps out of range"),
                      "429": problem("too many of your jobs are queued or running")}}},
}
