"""Per-IP and per-user rate limits shared by every gateway replica (`ATELIER_RATE_LIMIT_BACKEND=nats`).

The in-process token buckets of `ratelimit.py` let a client through N times the rate with N
replicas. This backend counts requests in fixed windows of `ATELIER_RATE_LIMIT_WINDOW_S` seconds in
the quota KV bucket instead (`rate * window + burst` requests per window, the same allowance as
the buckets over a window), so the limit holds whichever replica a request reaches. It costs two KV
round trips per limit per request; if the bucket does not answer, the request goes through (a
rate limit is a guard: an outage of it must not take the API down) and the failure is logged.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from services.gateway.auth import current_user
from services.gateway.quotas import QUOTA_STORE
from services.gateway.ratelimit import EXEMPT_PATHS, client_address
from services.gateway.settings import GatewaySettings
from shared.errors import TooManyRequests
from shared.logging import get_logger

log = get_logger(__name__)


async def _check(request: web.Request, kind: str, key: str, limit: int, window_s: int, who: str) -> None:
    try:
        verdict = await request.app[QUOTA_STORE].hit(kind, key, 1, limit, window_s)
    except Exception as exc:
        log.warning("gateway.ratelimit.store_failed", error=type(exc).__name__)
        return
    if not verdict.allowed:
        raise TooManyRequests(f"too many requests from this {who}; retry in {verdict.retry_after_s} s",
                              headers={"Retry-After": str(verdict.retry_after_s)},
                              extra={"retry_after_s": verdict.retry_after_s, "limit": limit, "window_s": window_s})


def _key(text: str) -> str:
    """A KV-safe key for an address (IPv6 colons, anything odd)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:128] or "unknown"


def shared_ip_rate_limit_middleware(settings: GatewaySettings) -> Callable[..., object]:
    window = settings.rate_limit_window_s
    limit = int(settings.rate_limit_ip_per_s * window) + settings.rate_limit_ip_burst

    @web.middleware
    async def shared_ip_rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in EXEMPT_PATHS:
            await _check(request, "rl-ip", _key(client_address(request, settings.forwarded_hops)), limit,
                         window, "address")
        return await handler(request)

    return shared_ip_rate_limit


def shared_user_rate_limit_middleware(settings: GatewaySettings) -> Callable[..., object]:
    window = settings.rate_limit_window_s
    limit = int(settings.rate_limit_user_per_s * window) + settings.rate_limit_user_burst

    @web.middleware
    async def shared_user_rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        user = current_user(request)
        if user is not None and request.path not in EXEMPT_PATHS:
            await _check(request, "rl-user", _key(user.id), limit, window, "user")
        return await handler(request)

    return shared_user_rate_limit
