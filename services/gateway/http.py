"""Helpers for route handlers: parse bodies and queries strictly, forward to services over NATS."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from services.gateway.auth import current_user
from shared.contexts import NC
from shared.errors import BadRequest, Unprocessable, UnsupportedMediaType, validation_errors
from shared.messaging.rpc import rpc_call

M = TypeVar("M", bound=BaseModel)
RPC_TIMEOUT = web.AppKey("rpc_timeout_s", float)
IDEMPOTENCY_HEADER = "Idempotency-Key"


async def read_json(request: web.Request) -> Any:
    """The JSON body: 415 if it is not declared as JSON, 400 if it does not parse."""
    if request.content_type not in ("application/json", "application/merge-patch+json"):
        raise UnsupportedMediaType("send the body as application/json")
    raw = await request.read()
    if not raw:
        raise BadRequest("the request body is empty; JSON was expected")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the request body is not valid JSON") from None


async def read_body(request: web.Request, model: type[M]) -> M:
    """Parse and validate a JSON body: malformed 400, schema violations 422 naming the fields."""
    data = await read_json(request)
    if not isinstance(data, dict):
        raise Unprocessable("the request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Unprocessable("the request body is not valid", errors=validation_errors(exc)) from None


def read_query(request: web.Request, model: type[M]) -> M:
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise Unprocessable("the query parameters are not valid", errors=validation_errors(exc)) from None


async def call(request: web.Request, service: str, operation: str, payload: Any = None,
               *, timeout: float | None = None) -> Any:
    """Forward to `svc.<service>.<operation>` as the current caller; typed errors propagate.

    The request id travels from the contextvars bound by the request middleware; an
    `Idempotency-Key` is passed on so that the service can deduplicate too (it is the authority).
    """
    user = current_user(request)
    key = request.headers.get(IDEMPOTENCY_HEADER)
    return await rpc_call(
        request.app[NC], service, operation, payload,
        timeout=timeout or request.app[RPC_TIMEOUT],
        actor_id=user.id if user else None,
        headers={IDEMPOTENCY_HEADER: key} if key else None,
    )


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers)
