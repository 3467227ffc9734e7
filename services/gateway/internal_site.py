"""The gateway's internal site: `/metrics` and `/v1/status` on a port of their own, never the public one.

The public port serves the API, the web app and the probes (`/healthz`, `/readyz`); what tells an
outsider about the platform's insides (Prometheus metrics, which services answer) is served on
`ATELIER_GATEWAY_INTERNAL_HOST:ATELIER_GATEWAY_INTERNAL_PORT` (127.0.0.1 and a free port by default;
Kubernetes sets 0.0.0.0:9090, which only the monitoring namespace may reach, and the ingress
routes only the public port).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from services.gateway.health import reachability
from services.gateway.settings import GatewaySettings
from shared.contexts import NC, CleanupCtx
from shared.logging import get_logger
from shared.web import metrics

log = get_logger(__name__)


@dataclass
class InternalSite:
    port: int | None = None  # the bound port, once the site listens

    @property
    def url(self) -> str | None:
        return None if self.port is None else f"http://127.0.0.1:{self.port}"


INTERNAL_SITE = web.AppKey("internal_site", InternalSite)


def internal_app(public: web.Application) -> web.Application:
    async def services_status(_: web.Request) -> web.Response:
        """`GET /v1/status`: which backend services answer right now."""
        nc = public[NC]
        return web.json_response({"nats": nc.is_connected, "services": await reachability(nc)})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/v1/status", services_status)
    return app


def internal_site_ctx(settings: GatewaySettings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        runner = web.AppRunner(internal_app(app), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, settings.internal_host, settings.internal_port)
        await site.start()
        addresses = runner.addresses  # the bound sockets (with port 0: which port was chosen)
        app[INTERNAL_SITE].port = int(addresses[0][1]) if addresses else settings.internal_port
        log.info("gateway.internal.listening", host=settings.internal_host, port=app[INTERNAL_SITE].port)
        try:
            yield
        finally:
            await runner.cleanup()

    return ctx


def setup(app: web.Application, settings: GatewaySettings) -> None:
    app[INTERNAL_SITE] = InternalSite()
    if settings.internal_enabled:
        app.cleanup_ctx.append(internal_site_ctx(settings))
