"""Strict parsing of what a client sends: JSON bodies (depth-checked before parsing) and query
strings, into contract models."""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from shared import safejson
from shared.errors import BadRequest, Unprocessable, UnsupportedMediaType, validation_errors

M = TypeVar("M", bound=BaseModel)
JSON_TYPES = ("application/json", "application/merge-patch+json")


async def read_json(request: web.Request) -> Any:
    """The JSON body: 415 if it is not declared as JSON, 400 if it does not parse."""
    if request.content_type not in JSON_TYPES:
        raise UnsupportedMediaType("send the body as application/json")
    raw = await request.read()
    if not raw:
        raise BadRequest("the request body is empty; JSON was expected")
    return safejson.loads(raw)


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
