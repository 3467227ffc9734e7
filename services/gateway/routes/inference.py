"""Public routes served by the inference service: generations, ratings, publishing, verification.

Bodies are validated here with the service's own models (the service validates again) and
forwarded to `svc.inference.<op>` as the caller. `POST /v1/provenance/verify` takes the raw image:
it reads the stream itself, with its own cap, instead of the gateway's 1 MiB JSON body limit.
"""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web

from services.gateway.auth import require_user
from services.gateway.http import RPC_TIMEOUT, json_response, read_body, read_query
from services.gateway.openapi import BEARER, ID_PARAMETER, json_content, problem
from services.inference.schemas import GenerationCreate, ListQuery, PublishBody, RatingBody
from shared.contexts import NC
from shared.errors import NotFound, PayloadTooLarge, Unprocessable, UnsupportedMediaType
from shared.messaging.rpc import rpc_call

SERVICE = "inference"
IDEMPOTENCY_KEY = "Idempotency-Key"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
VERIFY_MAX_BYTES = 8 * 1024**2
VERIFY_TIMEOUT_S = 30.0
_JSON_OVERHEAD = 4096  # envelope, headers and field names around the base64 image in one NATS message


async def _call(request: web.Request, op: str, payload: Any, *, user_id: str | None,
                timeout: float | None = None) -> Any:
    headers = {}
    if request.method == "POST" and IDEMPOTENCY_KEY in request.headers:
        headers[IDEMPOTENCY_KEY] = request.headers[IDEMPOTENCY_KEY]
    return await rpc_call(request.app[NC], SERVICE, op, payload, timeout=timeout or request.app[RPC_TIMEOUT],
                          actor_id=user_id, headers=headers)


def _output_ref(request: web.Request) -> dict[str, Any]:
    index = request.match_info["index"]
    if not index.isdigit() or len(index) > 4:
        raise NotFound("no such output")
    return {"id": request.match_info["id"], "index": int(index)}


async def create_generation(request: web.Request) -> web.Response:
    user = require_user(request)
    body = await read_body(request, GenerationCreate)
    result = await _call(request, "generations.create", body.model_dump(mode="json", exclude_none=True),
                         user_id=user.id)
    return json_response(result, status=202, headers={"Location": f"/v1/generations/{result['id']}"})


async def list_generations(request: web.Request) -> web.Response:
    user = require_user(request)
    query = read_query(request, ListQuery)
    return json_response(await _call(request, "generations.list", query.model_dump(exclude_none=True),
                                     user_id=user.id))


async def get_generation(request: web.Request) -> web.Response:
    user = require_user(request)
    return json_response(await _call(request, "generations.get", {"id": request.match_info["id"]}, user_id=user.id))


async def rate_output(request: web.Request) -> web.Response:
    user = require_user(request)
    body = await read_body(request, RatingBody)
    await _call(request, "outputs.rate", {**_output_ref(request), **body.model_dump()}, user_id=user.id)
    return web.Response(status=204)


async def publish_output(request: web.Request) -> web.Response:
    user = require_user(request)
    ref = _output_ref(request)
    body = await read_body(request, PublishBody)
    work = await _call(request, "outputs.publish", {**ref, **body.model_dump(mode="json")}, user_id=user.id)
    return json_response(work, status=201, headers={"Location": f"/v1/works/{work['id']}"})


def verify_limit(request: web.Request) -> int:
    """The largest image that fits one NATS message once base64-encoded (and our own cap)."""
    nats_payload = request.app[NC].max_payload or VERIFY_MAX_BYTES
    return min(VERIFY_MAX_BYTES, (nats_payload - _JSON_OVERHEAD) * 3 // 4)


async def verify(request: web.Request) -> web.Response:
    content_type = request.content_type
    if content_type not in IMAGE_TYPES:
        raise UnsupportedMediaType(f"send the image itself as one of {', '.join(IMAGE_TYPES)}")
    limit = verify_limit(request)
    too_large = PayloadTooLarge(f"images up to {limit} bytes can be verified", extra={"max_bytes": limit})
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    data = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        data += chunk
        if len(data) > limit:
            raise too_large
    if not data:
        raise Unprocessable("the request body is empty; an image was expected")
    user = require_user(request) if request.headers.get("Authorization") else None
    result = await _call(request, "provenance.verify",
                         {"content_type": content_type, "data_b64": base64.b64encode(bytes(data)).decode()},
                         user_id=user.id if user else None, timeout=VERIFY_TIMEOUT_S)
    return json_response(result)


def setup(app: web.Application, settings: object = None) -> None:
    """Register this module's routes on the gateway."""
    app.router.add_post("/v1/generations", create_generation)
    app.router.add_get("/v1/generations", list_generations)
    app.router.add_get("/v1/generations/{id}", get_generation)
    app.router.add_put("/v1/generations/{id}/outputs/{index}/rating", rate_output)
    app.router.add_post("/v1/generations/{id}/outputs/{index}/publish", publish_output)
    app.router.add_post("/v1/provenance/verify", verify)


# -- OpenAPI -------------------------------------------------------------------------------------

_INDEX = {"name": "index", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
_OUTPUT = {"type": "object", "properties": {
    "index": {"type": "integer"}, "asset_id": {"type": "string"}, "seed": {"type": "integer"},
    "image_sha256": {"type": "string", "description": "sha256 of the PNG before signing: the same for the same "
                     "model version, mode, parameters and seed (below 128 px, where no watermark is embedded)"},
    "width": {"type": "integer"}, "height": {"type": "integer"}, "score": {"type": ["integer", "null"]},
    "content_url": {"type": "string"}}}
_GENERATION = {"type": "object", "required": ["id", "status", "model_id", "version", "mode", "outputs"],
               "properties": {
                   "id": {"type": "string"},
                   "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]},
                   "model_id": {"type": "string"}, "version": {"type": "integer"},
                   "mode": {"type": "string", "enum": ["sample", "variations", "interpolate"]},
                   "count": {"type": "integer"}, "seed": {"type": "integer"}, "params": {"type": "object"},
                   "outputs": {"type": "array", "items": _OUTPUT}, "error": {"type": "string"},
                   "created_at": {"type": "string", "format": "date-time"},
                   "finished_at": {"type": ["string", "null"], "format": "date-time"}}}
_ACCEPTED = {"type": "object", "required": ["id", "status"],
             "properties": {"id": {"type": "string"}, "status": {"type": "string"}}}
_VERIFIED = {"type": "object", "required": ["state"], "properties": {
    "state": {"type": "string", "enum": ["valid", "untrusted", "tampered", "absent"]},
    "manifest": {"type": ["object", "null"], "description": "the active C2PA manifest"},
    "validation_errors": {"type": "array", "items": {"type": "object"}},
    "watermark_id": {"type": ["string", "null"], "description": "8 hex digits found in the pixels"},
    "generation": {"type": ["object", "null"], "description": "the generation the image came from, found by "
                   "its signed bytes or, once metadata was stripped, by its watermark (128 px and larger)"}}}

OPENAPI_PATHS: dict[str, Any] = {
    "/v1/generations": {
        "post": {
            "summary": "Generate images from a style model (queued; poll the generation or watch /v1/events)",
            "operationId": "createGeneration", "tags": ["generations"], "security": BEARER,
            "parameters": [{"name": IDEMPOTENCY_KEY, "in": "header", "required": False,
                            "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": json_content(GenerationCreate.model_json_schema())},
            "responses": {"202": {"description": "accepted", "content": json_content(_ACCEPTED)},
                          "400": problem("malformed JSON"), "401": problem("no or bad token"),
                          "404": problem("unknown model, or another user's private model"),
                          "409": problem("the model (or that version) is not trained yet"),
                          "415": problem("body is not application/json"),
                          "422": problem("count, seed, strength or truncation out of range")}},
        "get": {
            "summary": "Your generations, newest first", "operationId": "listGenerations",
            "tags": ["generations"], "security": BEARER,
            "parameters": [{"name": n, "in": "query", "required": False, "schema": s}
                           for n, s in ListQuery.model_json_schema()["properties"].items()],
            "responses": {"200": {"description": "a page", "content": json_content({"type": "object", "properties": {
                "items": {"type": "array", "items": _GENERATION},
                "next_cursor": {"type": ["string", "null"]}}})},
                "400": problem("bad cursor"), "401": problem("no or bad token"),
                "422": problem("bad limit")}},
    },
    "/v1/generations/{id}": {"get": {
        "summary": "A generation with its outputs", "operationId": "getGeneration", "tags": ["generations"],
        "security": BEARER, "parameters": [ID_PARAMETER],
        "responses": {"200": {"description": "the generation", "content": json_content(_GENERATION)},
                      "401": problem("no or bad token"), "404": problem("unknown, or not yours")}}},
    "/v1/generations/{id}/outputs/{index}/rating": {"put": {
        "summary": "Rate an output 1..5 (refine trains on your best-rated outputs)",
        "operationId": "rateOutput", "tags": ["generations"], "security": BEARER, "parameters": [ID_PARAMETER, _INDEX],
        "requestBody": {"required": True, "content": json_content(RatingBody.model_json_schema())},
        "responses": {"204": {"description": "rated"}, "400": problem("malformed JSON"),
                      "401": problem("no or bad token"), "404": problem("unknown generation or output"),
                      "409": problem("the generation has not finished"), "422": problem("score out of range")}}},
    "/v1/generations/{id}/outputs/{index}/publish": {"post": {
        "summary": "Publish an output as a work (origin ai, crediting the model and its owner)",
        "operationId": "publishOutput", "tags": ["generations"], "security": BEARER,
        "parameters": [ID_PARAMETER, _INDEX],
        "requestBody": {"required": True, "content": json_content(PublishBody.model_json_schema())},
        "responses": {"201": {"description": "the work", "content": json_content({"type": "object"})},
                      "400": problem("malformed JSON"), "401": problem("no or bad token"),
                      "404": problem("unknown generation or output"),
                      "409": problem("the generation has not finished"), "422": problem("invalid work fields")}}},
    "/v1/provenance/verify": {"post": {
        "summary": "Check an image's C2PA manifest and find the generation it came from",
        "operationId": "verifyProvenance", "tags": ["generations"],
        "requestBody": {"required": True, "content": {t: {"schema": {"type": "string", "format": "binary"}}
                                                      for t in IMAGE_TYPES}},
        "responses": {"200": {"description": "the verdict", "content": json_content(_VERIFIED)},
                      "413": problem("image too large"), "415": problem("not a PNG, JPEG or WebP body"),
                      "422": problem("empty or unreadable image")}}},
}
