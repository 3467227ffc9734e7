"""Public routes served by the inference service: generations, ratings, publishing, verification.

The table binds each route to its `svc.inference.*` contract operation. `POST /v1/provenance/verify`
is written by hand: it takes the raw image and reads the stream itself, with its own cap, instead of
the gateway's 1 MiB JSON body limit, then forwards it base64-encoded.
"""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web

from services.gateway.auth import require_user
from services.gateway.openapi import Schemas, problem, success_doc
from services.gateway.routing import Route, add_routes, forward
from services.gateway.settings import GatewaySettings
from shared.contexts import NC
from shared.contracts import inference as c
from shared.errors import PayloadTooLarge, Unprocessable, UnsupportedMediaType

TAG = "generations"
VERIFY_MAX_BYTES = 8 * 1024**2
VERIFY_PATH = "/v1/provenance/verify"
_JSON_OVERHEAD = 4096  # envelope, headers and field names around the base64 image in one NATS message
# A non-number (or absurdly long) output index matches no route: a 404, never a 422.
_OUTPUT = r"/v1/generations/{id}/outputs/{index:\d\d?\d?\d?}"

ROUTES = [
    Route("POST", "/v1/generations", c.GENERATIONS_CREATE, body=c.GenerationCreate, status=202,
          location="/v1/generations/{id}"),
    Route("GET", "/v1/generations", c.GENERATIONS_LIST, query=c.GenerationListQuery),
    Route("GET", "/v1/generations/{id}", c.GENERATIONS_GET),
    Route("POST", "/v1/generations/{id}/cancel", c.GENERATIONS_CANCEL),
    Route("PUT", _OUTPUT + "/rating", c.OUTPUTS_RATE, body=c.OutputRatingBody, status=204),
    Route("POST", _OUTPUT + "/publish", c.OUTPUTS_PUBLISH, body=c.OutputPublishBody, status=201,
          location="/v1/works/{id}"),
]


def verify_limit(request: web.Request) -> int:
    """The largest image that fits one NATS message once base64-encoded (and our own cap)."""
    nats_payload = request.app[NC].max_payload or VERIFY_MAX_BYTES
    return min(VERIFY_MAX_BYTES, (nats_payload - _JSON_OVERHEAD) * 3 // 4)


async def verify(request: web.Request) -> web.Response:
    content_type = next((t for t in c.IMAGE_TYPES if t == request.content_type), None)
    if content_type is None:
        raise UnsupportedMediaType(f"send the image itself as one of {', '.join(c.IMAGE_TYPES)}")
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
    if request.headers.get("Authorization"):
        require_user(request)  # anyone may verify, but a token that is sent must be valid
    payload = c.ProvenanceVerifyRequest(content_type=content_type, data_b64=base64.b64encode(bytes(data)).decode())
    raw = await forward(request, c.PROVENANCE_VERIFY, payload)
    return web.Response(body=raw, content_type="application/json")


def streamed_docs(schemas: Schemas) -> dict[tuple[str, str], dict[str, Any]]:
    op = c.PROVENANCE_VERIFY
    return {("post", VERIFY_PATH): {
        "summary": op.summary, "operationId": op.name.replace(".", "_"),
        "security": [{"bearer": []}, {}],
        "requestBody": {"required": True, "content": {t: {"schema": {"type": "string", "format": "binary"}}
                                                      for t in c.IMAGE_TYPES}},
        "responses": {"200": success_doc(200, op.response, schemas, "the verdict"),
                      "401": problem("an Authorization header with an invalid token"),
                      "413": problem("image too large"), "415": problem("not a PNG, JPEG or WebP body"),
                      "422": problem("empty or unreadable image")},
    }}


def setup(app: web.Application, settings: GatewaySettings) -> None:
    """Register this module's routes on the gateway."""
    add_routes(app, ROUTES)
    app.router.add_post(VERIFY_PATH, verify)
