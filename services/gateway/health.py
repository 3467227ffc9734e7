"""Readiness of the gateway and reachability of the services behind it (NATS micro PING)."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from nats.aio.client import Client as NATS

from services.gateway.settings import BACKEND_SERVICES
from shared.resources import NC


async def ping_service(nc: NATS, name: str, timeout_s: float = 1.0) -> dict[str, object]:
    try:
        reply = await nc.request(f"$SRV.PING.{name}", b"", timeout=timeout_s)
        info = json.loads(reply.data)
        return {"reachable": True, "id": info.get("id"), "version": info.get("version")}
    except Exception:
        return {"reachable": False}


async def services_status(request: web.Request) -> web.Response:
    """`GET /v1/status`: which backend services answer right now."""
    nc = request.app[NC]
    results = await asyncio.gather(*(ping_service(nc, name) for name in BACKEND_SERVICES))
    services = dict(zip(BACKEND_SERVICES, results, strict=True))
    return web.json_response({"nats": nc.is_connected, "services": services})
