"""Transitional: what the route modules not yet on the contracts (community, trainer, inference)
still import. Parsing lives in `services.gateway.parsing`, forwarding in `services.gateway.routing`;
delete this module once no route module imports it."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.gateway.parsing import read_body, read_json, read_query

__all__ = ["RPC_TIMEOUT", "json_response", "read_body", "read_json", "read_query"]

RPC_TIMEOUT = web.AppKey("rpc_timeout_s", float)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers)
