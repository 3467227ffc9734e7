"""The OpenAPI 3.1 document of the public API: the gateway's own paths (operations, live events,
docs, web app) and, generated from the contracts, every route module's table (`ROUTES`) and its
hand-written streamed routes (`streamed_docs`), whose responses also come from contract models.

Edge behaviour every operation shares is added here rather than repeated in each module, so that
the document lists every status an operation can answer (tests/e2e/test_openapi_statuses.py
provokes each one against every operation):
- everywhere: 401 (any `Authorization` header sent is checked, on public routes too), 414 and 431
  (request line or headers too long: refused before routing), 429 (rate limits; not on probes);
- on POST: the `Idempotency-Key` header and what it can answer (400 malformed key, 409 the first
  request with the key still runs, 413 a body too large to fingerprint, 422 the key reused with
  another body);
- on a route with a JSON body: 400, 413, 415, 422;
- on every route the modules serve (they call services over NATS): 503 and 504.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from services.gateway.routing import Route

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


class RouteModule(Protocol):
    """What `services/gateway/routes/<service>.py` exposes."""

    @property
    def TAG(self) -> str: ...

    @property
    def ROUTES(self) -> Sequence[Route]: ...

    def streamed_docs(self, schemas: Schemas) -> dict[tuple[str, str], dict[str, Any]]: ...


def problem(description: str) -> dict[str, Any]:
    """A response that is a problem document."""
    return {"description": description, "content": _PROBLEM}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}

_OPS = ["operations"]
_READINESS = {"type": "object", "properties": {
    "status": {"type": "string", "enum": ["ready", "unavailable"]},
    "checks": {"type": "object", "additionalProperties": {"type": "boolean"}},
    "reports": {"type": "object", "description": "informational, not deciding readiness"}}}

OPS_PATHS: dict[str, Any] = {
    "/healthz": {"get": {"summary": "Liveness", "operationId": "healthz", "tags": _OPS,
                         "responses": {"200": {"description": "alive", "content": {"application/json": {
                             "schema": {"type": "object", "properties": {"status": {"const": "ok"}}}}}}}}},
    "/readyz": {"get": {"summary": "Readiness (NATS reachable)", "operationId": "readyz", "tags": _OPS,
                        "responses": {"200": {"description": "ready", "content": {"application/json": {
                            "schema": _READINESS}}},
                                      "503": {"description": "not ready", "content": {"application/json": {
                                          "schema": _READINESS}}}}}},
    "/v1/openapi.json": {"get": {"summary": "This document", "operationId": "openapi", "tags": _OPS,
                                 "responses": {"200": {"description": "OpenAPI 3.1 document",
                                                       "content": {"application/json": {"schema": {
                                                           "type": "object", "properties": {
                                                               "openapi": {"type": "string"},
                                                               "paths": {"type": "object"}}}}}}}}},
    "/docs": {"get": {"summary": "API reference rendered from this document", "operationId": "docs",
                      "tags": _OPS, "responses": {"200": {"description": "HTML page",
                                                          "content": {"text/html": {}}}}}},
    "/v1/asyncapi.json": {"get": {"summary": "AsyncAPI 3.0 document of every event: NATS subjects and streams, "
                                             "the WebSocket channel, webhook deliveries", "operationId": "asyncapi",
                                  "tags": _OPS, "responses": {"200": {"description": "AsyncAPI 3.0 document",
                                                                      "content": {"application/json": {"schema": {
                                                                          "type": "object", "properties": {
                                                                              "asyncapi": {"type": "string"},
                                                                              "channels": {"type": "object"}}}}}}}}},
    "/docs/events": {"get": {"summary": "The events reference rendered from the AsyncAPI document",
                             "operationId": "eventDocs", "tags": _OPS,
                             "responses": {"200": {"description": "HTML page", "content": {"text/html": {}}}}}},
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

**Close codes**: 1001 server shutting down, 4001 token expired, 4401 token revoked (the account
was deleted or its password changed, by you or elsewhere: sign in again; reconnecting with the same
token is refused), 4008 client too slow (its send queue overflowed; reconnect with `since`), 1011
event streams unavailable."""

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
IDEMPOTENCY_REF = "#/components/parameters/IdempotencyKey"
PROTOCOL_RESPONSES: dict[str, Any] = {
    "UriTooLong": {"description": "the request line is longer than the server accepts (before routing)",
                   "content": _PROBLEM},
    "HeadersTooLarge": {"description": "a request header, or the headers together, are larger than the server "
                                       "accepts (before routing)", "content": _PROBLEM},
}
BAD_TOKEN = "an `Authorization` header was sent that is not a valid bearer token (malformed, expired or revoked)"
RATE_LIMITED = {
    "description": "rate limited: retry after `Retry-After` seconds", "content": _PROBLEM,
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
}
_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
_PATH_PARAM = re.compile(r"{(\w+)(?::[^{}]*)?}")
# What each status means when a route's operation can answer it; an operation's own text wins.
STATUS_TEXT = {
    400: "Malformed JSON, a bad cursor or a malformed body", 401: "Missing or invalid token",
    402: "Not enough credits (the problem says balance and needed)", 403: "Not allowed for this caller",
    404: "Not found, or not visible to the caller",
    409: "Conflicts with the current state", 410: "Gone", 413: "Too large",
    415: "Wrong media type", 422: "Validation failed (the problem names the fields)",
    429: "Too many requests", 503: "A service behind this one is unavailable",
    504: "A service behind this one did not answer in time",
}


class Schemas:
    """Collects the JSON Schemas of contract models into `components.schemas` and hands out refs."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, model: type[BaseModel], mode: JsonSchemaMode = "serialization") -> dict[str, Any]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
        for name, sub in schema.pop("$defs", {}).items():
            self._add(name, sub)
        name = schema.get("title", model.__name__)
        self._add(name, schema)
        return {"$ref": f"#/components/schemas/{name}"}

    def _add(self, name: str, schema: dict[str, Any]) -> None:
        known = self.components.setdefault(name, schema)
        if known != schema:
            raise ValueError(f"two different contract models are both named {name}: rename one")


def path_template(path: str) -> str:
    """`/v1/x/{index:\\d+}` (aiohttp's regex-constrained parameter) -> `/v1/x/{index}`."""
    return _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", path)


def parameter_docs(route: Route, schemas: Schemas) -> list[dict[str, Any]]:
    fields = route.op.request.model_fields
    params: list[dict[str, Any]] = []
    for name in _PATH_PARAM.findall(route.path):
        field = fields.get(name)
        params.append({"name": name, "in": "path", "required": True,
                       "description": (field.description if field and field.description else f"The {name}"),
                       "schema": {"type": "integer" if field and field.annotation is int else "string"}})
    if route.query is not None:
        props = route.query.model_json_schema(mode="validation").get("properties", {})
        for name, prop in props.items():
            text = prop.pop("description", None) or route.query.model_fields[name].description
            params.append({"name": name, "in": "query", "required": False, "schema": prop,
                           "description": text or prop.get("title", name)})
    return params


def route_doc(route: Route, tag: str, schemas: Schemas) -> dict[str, Any]:
    """The OpenAPI operation of a route-table entry, generated from its contract operation."""
    op = route.op
    problems = set(op.all_problems) | set(route.problems)
    if route.body is not None:
        problems |= {400, 413, 415, 422}
    problems |= {503, 504}  # forwarded over NATS: the service is down, or did not answer in time
    if not route.needs_token and 401 not in op.problems and 401 not in route.problems:
        problems.discard(401)  # no token needed, and a 401 is not one of the operation's own answers
    if op.actor == "optional":
        problems.add(401)  # a token that is sent must be valid
    doc: dict[str, Any] = {
        "summary": route.description, "operationId": f"{op.service}_{op.name.replace('.', '_')}", "tags": [tag],
        "parameters": parameter_docs(route, schemas),
        "responses": {str(route.status): success_doc(route.status, op.response if route.status != 204 else None,
                                                     schemas)},
    }
    if route.body is not None:
        doc["requestBody"] = {"required": True, "content": json_content(schemas.ref(route.body, "validation"))}
    if route.needs_token or op.actor == "optional":
        doc["security"] = BEARER if route.needs_token else [*BEARER, {}]
    for status in sorted(problems):
        doc["responses"][str(status)] = problem(STATUS_TEXT.get(status, "Problem"))
    return doc


def success_doc(status: int, model: type[BaseModel] | None, schemas: Schemas, description: str | None = None,
                ) -> dict[str, Any]:
    if model is None:
        return {"description": description or "No content"}
    return {"description": description or "OK", "content": json_content(schemas.ref(model))}


def with_upstream_failures(paths: dict[str, Any]) -> dict[str, Any]:
    """The route modules' hand-written operations call services too: 503 and 504 on each."""
    out = copy.deepcopy(paths)
    for item in out.values():
        for method in _METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                responses = op.setdefault("responses", {})
                responses.setdefault("503", problem(STATUS_TEXT[503]))
                responses.setdefault("504", problem(STATUS_TEXT[504]))
    return out


def with_edge_behaviour(paths: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(paths)
    for path, item in out.items():
        for method in _METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            responses = op.setdefault("responses", {})
            responses.setdefault("401", problem(BAD_TOKEN))
            responses.setdefault("414", {"$ref": "#/components/responses/UriTooLong"})
            responses.setdefault("431", {"$ref": "#/components/responses/HeadersTooLarge"})
            if path in ("/healthz", "/readyz", "/metrics"):
                continue  # probes are not rate limited
            responses.setdefault("429", {"$ref": "#/components/responses/RateLimited"})
            if method == "post":
                # The idempotency middleware refuses a malformed key before the route runs, and
                # fingerprints the body (JSON, forms, none) to compare retries.
                responses.setdefault("400", problem("a malformed `Idempotency-Key` header (1 to 200 "
                                                    "printable characters) or an unreadable body"))
                responses.setdefault("409", problem("a request with this `Idempotency-Key` is still in progress "
                                                    "(retry after `Retry-After`)"))
                responses.setdefault("413", problem("the body is larger than the server accepts"))
                responses.setdefault("422", problem("this `Idempotency-Key` was used with another body"))
                params = op.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" or p.get("$ref") == IDEMPOTENCY_REF
                           for p in params if isinstance(p, dict)):  # applied twice, it adds it once
                    params.append({"$ref": IDEMPOTENCY_REF})
    return out


def build_document(extra_paths: dict[str, Any] | None = None,
                   extra_schemas: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Atelier API", "version": "1.0.0",
                 "description": "Human-AI art creation: community, assets, style models, generations. "
                                "Errors are RFC 9457 problem documents; lists use cursor pagination."},
        "servers": [{"url": "/"}],
        "paths": with_edge_behaviour({**OPS_PATHS, **LIVE_PATHS, **with_upstream_failures(extra_paths or {})}),
        "components": {
            "schemas": {"Problem": PROBLEM_SCHEMA, **(extra_schemas or {})},
            "responses": {"RateLimited": RATE_LIMITED, **PROTOCOL_RESPONSES},
            "parameters": {"IdempotencyKey": IDEMPOTENCY_PARAMETER},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def document(modules: Sequence[RouteModule]) -> dict[str, Any]:
    """The whole document: the gateway's own paths plus every route module's table and streamed routes."""
    schemas = Schemas()
    paths: dict[str, Any] = {}
    for module in modules:
        for route in module.ROUTES:
            paths.setdefault(path_template(route.path), {})[route.method.lower()] = route_doc(route, module.TAG,
                                                                                             schemas)
        for (method, path), doc in module.streamed_docs(schemas).items():
            paths.setdefault(path, {})[method] = {"tags": [module.TAG], **doc}
    return build_document(paths, schemas.components)
