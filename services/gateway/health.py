"""Readiness of the gateway and reachability of the services behind it (NATS micro PING)."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from nats.aio.client import Client as NATS

from services.gateway.settings import BACKEND_SERVICES
from shared.contexts import NC
from shared.web import add_readiness_report


async def ping_service(nc: NATS, name: str, timeout_s: float = 1.0) -> dict[str, object]:
    if not nc.is_connected:  # a request now would wait in the reconnect buffer for its whole timeout
        return {"reachable": False}
    try:
        reply = await nc.request(f"$SRV.PING.{name}", b"", timeout=timeout_s)
        info = json.loads(reply.data)
        return {"reachable": True, "id": info.get("id"), "version": info.get("version")}
    except Exception:
        return {"reachable": False}


async def reachability(nc: NATS) -> dict[str, dict[str, object]]:
    results = await asyncio.gather(*(ping_service(nc, name) for name in BACKEND_SERVICES))
    return dict(zip(BACKEND_SERVICES, results, strict=True))


def report_services(app: web.Application) -> None:
    """`/readyz` reports each service's reachability (informational: the edge stays ready)."""

    async def report() -> dict[str, dict[str, object]]:
        return await reachability(app[NC])

    add_readiness_report(app, "services", report)
