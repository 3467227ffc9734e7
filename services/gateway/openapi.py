"""The OpenAPI 3.1 document of the public API, built from the gateway's route table."""

from __future__ import annotations

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

OPS_PATHS: dict[str, Any] = {
    "/healthz": {"get": {"summary": "Liveness", "operationId": "healthz", "tags": ["operations"],
                         "responses": {"200": {"description": "alive"}}}},
    "/readyz": {"get": {"summary": "Readiness (NATS reachable)", "operationId": "readyz", "tags": ["operations"],
                        "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}}}},
    "/metrics": {"get": {"summary": "Prometheus metrics", "operationId": "metrics", "tags": ["operations"],
                         "responses": {"200": {"description": "metrics in text format"}}}},
    "/v1/status": {"get": {"summary": "Reachability of each backend service over NATS", "operationId": "status",
                           "tags": ["operations"], "responses": {"200": {"description": "per-service status"}}}},
    "/v1/openapi.json": {"get": {"summary": "This document", "operationId": "openapi", "tags": ["operations"],
                                 "responses": {"200": {"description": "OpenAPI 3.1 document"}}}},
}


def build_document(extra_paths: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Atelier API", "version": "1.0.0",
                 "description": "Human-AI art creation: community, assets, style models, generations."},
        "servers": [{"url": "/"}],
        "paths": {**OPS_PATHS, **(extra_paths or {})},
        "components": {
            "schemas": {"Problem": PROBLEM_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


async def openapi_json(_: web.Request) -> web.Response:
    from services.gateway import routes

    paths: dict[str, Any] = {}
    for module in routes.MODULES:
        for path, ops in module.OPENAPI_PATHS.items():
            paths.setdefault(path, {}).update(ops)
    return web.json_response(build_document(paths))
