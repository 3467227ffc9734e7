"""The OpenAPI 3.1 document of the public API: the gateway's own paths (operations, live events,
docs, web app) merged with each route module's `OPENAPI_PATHS`.

Edge behaviour every operation shares is added here rather than repeated in each module: the
429 answer of the rate limiter and, on POST, the `Idempotency-Key` header.
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": ["string", "null"]}, "message": {"type": "string"}}}},
    },
}

_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
# Building blocks for the route modules' OPENAPI_PATHS.
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
ID_PARAMETER: dict[str, Any] = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


def problem(description: str) -> dict[str, Any]:
    """A response that is a problem document."""
    return {"description": description, "content": _PROBLEM}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}

_OPS = ["operations"]

OPS_PATHS: dict[str, Any] = {
    "/healthz": {"get": {"summary": "Liveness", "operationId": "healthz", "tags": _OPS,
                         "responses": {"200": {"description": "alive"}}}},
    "/readyz": {"get": {"summary": "Readiness (NATS reachable)", "operationId": "readyz", "tags": _OPS,
                        "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}}}},
    "/metrics": {"get": {"summary": "Prometheus metrics", "operationId": "metrics", "tags": _OPS,
                         "responses": {"200": {"description": "metrics in text format",
                                               "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    "/v1/status": {"get": {
        "summary": "Reachability of each backend service over NATS", "operationId": "status", "tags": _OPS,
        "responses": {"200": {"description": "per-service status", "content": {"application/json": {"schema": {
            "type": "object", "properties": {
                "nats": {"type": "boolean"},
                "services": {"type": "object", "additionalProperties": {
                    "type": "object", "properties": {"reachable": {"type": "boolean"},
                                                     "version": {"type": ["string", "null"]}}}}}}}}}}}},
    "/v1/openapi.json": {"get": {"summary": "This document", "operationId": "openapi", "tags": _OPS,
                                 "responses": {"200": {"description": "OpenAPI 3.1 document",
                                                       "content": {"application/json": {}}}}}},
    "/docs": {"get": {"summary": "API reference rendered from this document", "operationId": "docs",
                      "tags": _OPS, "responses": {"200": {"description": "HTML page",
                                                          "content": {"text/html": {}}}}}},
    "/": {"get": {"summary": "The web app", "operationId": "webApp", "tags": _OPS,
                  "responses": {"200": {"description": "HTML page", "content": {"text/html": {}}}}}},
}

LIVE_DESCRIPTION = """Upgrades to a WebSocket (subprotocol `atelier.v1`) that pushes the CloudEvents the caller
may see.

**Authentication**: `Authorization: Bearer <token>`, or the `token` query parameter, or the
subprotocol list `["atelier.v1", "bearer.<token>"]` (browsers).

**Client frames** (JSON text): `{"subscribe": ["me", "feed", "public"], "since": "<sequence>"}` once,
`{"ping": x}` → `{"pong": x}`.

* `me`: your training progress, model versions, generations, your published works, likes and
  comments on your works, new followers;
* `feed`: public works of artists you follow;
* `public`: every public work published.

**Server frames**: CloudEvents 1.0 with the extension attributes `sequence` (a resume cursor such
as `COMMUNITY=120,INFERENCE=7,TRAINER=33`: the last position examined in each event stream) and
`channel`; `{"subscribed": [...], "sequence": cursor}` when the replay from `since` is over and
live events follow; `{"notice": {"code", "message"}}`; `{"error": {"code", "message"}}` for a bad
frame (the connection stays open).

**Resuming**: reconnect with `since` = the last `sequence` you received (or the one of the
`subscribed` frame) and the same channels: you get every event you missed, once, in order.

**Close codes**: 1001 server shutting down, 4001 token expired, 4008 client too slow (its send
queue overflowed; reconnect with `since`), 1011 event streams unavailable."""

LIVE_PATHS: dict[str, Any] = {
    "/v1/events": {"get": {
        "summary": "Live events (WebSocket)", "operationId": "liveEvents", "tags": ["live"],
        "description": LIVE_DESCRIPTION,
        "security": [{"bearer": []}],
        "parameters": [
            {"name": "token", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "the bearer token, for clients that cannot set headers"},
            {"name": "Sec-WebSocket-Protocol", "in": "header", "required": False, "schema": {"type": "string"},
             "description": "`atelier.v1, bearer.<token>`"},
        ],
        "responses": {
            "101": {"description": "switched to the WebSocket protocol `atelier.v1`"},
            "400": {"description": "not a WebSocket upgrade request", "content": _PROBLEM},
            "401": {"description": "missing or invalid token", "content": _PROBLEM},
            "503": {"description": "too many live connections on this gateway", "content": _PROBLEM},
        },
    }},
}

IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 200},
    "description": "Retrying with the same key and body returns the first answer (for 24 h); the same key "
                   "with another body is a 422.",
}
RATE_LIMITED = {
    "description": "rate limited: retry after `Retry-After` seconds", "content": _PROBLEM,
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
}
_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


def _with_edge_behaviour(paths: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(paths)
    for path, item in out.items():
        if path in ("/healthz", "/readyz", "/metrics"):
            continue
        for method in _METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            op.setdefault("responses", {}).setdefault("429", {"$ref": "#/components/responses/RateLimited"})
            if method == "post":
                params = op.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in params if isinstance(p, dict)):
                    params.append({"$ref": "#/components/parameters/IdempotencyKey"})
    return out


def merged_paths(modules: tuple[Any, ...]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for source in (OPS_PATHS, LIVE_PATHS, *(m.OPENAPI_PATHS for m in modules)):
        for path, ops in source.items():
            paths.setdefault(path, {}).update(ops)
    return paths


def build_document(extra_paths: dict[str, Any] | None = None,
                   extra_schemas: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Atelier API", "version": "1.0.0",
                 "description": "Human-AI art creation: community, assets, style models, generations. "
                                "Errors are RFC 9457 problem documents; lists use cursor pagination."},
        "servers": [{"url": "/"}],
        "paths": _with_edge_behaviour({**OPS_PATHS, **LIVE_PATHS, **(extra_paths or {})}),
        "components": {
            "schemas": {"Problem": PROBLEM_SCHEMA, **(extra_schemas or {})},
            "responses": {"RateLimited": RATE_LIMITED},
            "parameters": {"IdempotencyKey": IDEMPOTENCY_PARAMETER},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def document() -> dict[str, Any]:
    """The whole document: the gateway's paths plus every route module's."""
    from services.gateway import routes

    schemas: dict[str, Any] = {}
    for module in routes.MODULES:
        schemas.update(getattr(module, "OPENAPI_SCHEMAS", {}))
    return build_document(merged_paths(routes.MODULES), schemas)


async def openapi_json(_: web.Request) -> web.Response:
    return web.json_response(document())
