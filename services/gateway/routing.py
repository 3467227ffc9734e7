"""The one way the gateway forwards a public request: a route table bound to contract operations.

    ROUTES = [
        Route("GET", "/v1/works/{id}", c.WORKS_GET),
        Route("PATCH", "/v1/works/{id}", c.WORKS_UPDATE, body=c.WorkPatch),
        Route("POST", "/v1/works", c.WORKS_CREATE, body=c.WorkCreate, status=201, location="/v1/works/{id}"),
    ]

A route checks the caller as its operation declares (`actor`), validates the query and the body
with the contract's models (the service validates again: it is the authority), merges the path
parameters in, calls the operation as the caller and passes the service's JSON on untouched.
Only handlers whose body streams (uploads, downloads, verify) are written by hand, and they call
operations through `forward` too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel

from services.gateway.auth import current_user, require_user
from services.gateway.parsing import read_body, read_query
from shared.contexts import NC
from shared.contracts.common import IDEMPOTENCY_HEADER
from shared.contracts.operation import Operation
from shared.messaging.rpc import call, call_raw

Headers = Callable[[Mapping[str, Any]], Mapping[str, str]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    op: Operation[Any, Any]
    body: type[BaseModel] | None = None  # the JSON body clients send (path parameters are added to it)
    query: type[BaseModel] | None = None  # the query string clients send
    status: int = 200
    location: str | None = None  # e.g. "/v1/works/{id}": filled from the answer, sent as Location
    headers: Headers | None = None  # more response headers computed from the answer
    summary: str | None = None  # defaults to the operation's
    public: bool | None = None  # None: as the operation's `actor` says (only "required" needs a token)
    problems: tuple[int, ...] = ()  # statuses the edge adds beyond the operation's own
    timeout_s: float | None = None  # defaults to the operation's deadline

    @property
    def needs_token(self) -> bool:
        return not self.public if self.public is not None else self.op.actor == "required"

    @property
    def description(self) -> str:
        return self.summary or self.op.summary


async def forward(request: web.Request, op: Operation[Any, Any], payload: BaseModel | Mapping[str, Any] | None,
                  *, timeout: float | None = None) -> bytes:
    """Call `op` as the request's caller (token already checked by the route) and return the raw JSON.

    The request id travels in the contextvars bound by the request middleware; an `Idempotency-Key`
    on a POST is passed on so that the service deduplicates too (it is the authority)."""
    user = current_user(request) if op.actor != "none" else None
    key = request.headers.get(IDEMPOTENCY_HEADER) if request.method == "POST" else None
    return await call_raw(request.app[NC], op, payload, actor_id=user.id if user else None,
                          timeout=timeout, headers={IDEMPOTENCY_HEADER: key} if key else None, watch_peer=True)


async def forward_model(request: web.Request, op: Operation[Any, Any], payload: BaseModel | Mapping[str, Any] | None,
                        *, timeout: float | None = None) -> Any:
    """Like `forward`, for handlers that read the answer: returns the operation's response model."""
    user = current_user(request) if op.actor != "none" else None
    key = request.headers.get(IDEMPOTENCY_HEADER) if request.method == "POST" else None
    return await call(request.app[NC], op, payload, actor_id=user.id if user else None,
                      timeout=timeout, headers={IDEMPOTENCY_HEADER: key} if key else None, watch_peer=True)


def handler(route: Route) -> Callable[[web.Request], Any]:
    async def handle(request: web.Request) -> web.StreamResponse:
        if route.needs_token:
            require_user(request)
        payload: dict[str, Any] = dict(request.match_info)
        if route.query is not None:
            payload.update(read_query(request, route.query).model_dump(mode="json", exclude_none=True))
        if route.body is not None:
            body = await read_body(request, route.body)
            # PATCH forwards only what was sent: leaving a field out is not setting it to its default.
            payload.update(body.model_dump(mode="json", exclude_unset=route.method == "PATCH"))
        raw = await forward(request, route.op, payload, timeout=route.timeout_s)
        if route.status == 204:
            return web.Response(status=204)
        headers: dict[str, str] = {}
        if route.location is not None or route.headers is not None:
            answer = orjson.loads(raw)
            if isinstance(answer, dict):
                if route.location is not None:
                    headers["Location"] = route.location.format(**answer)
                if route.headers is not None:
                    headers.update(route.headers(answer))
        # The service's JSON goes out as it came: no decode and re-encode on the hot path.
        return web.Response(body=raw, status=route.status, headers=headers, content_type="application/json")

    return handle


def add_routes(app: web.Application, routes: Sequence[Route]) -> None:
    for route in routes:
        app.router.add_route(route.method, route.path, handler(route))
