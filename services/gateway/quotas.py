"""Per-user quotas at the edge, shared by every replica through `QuotaStore` (NATS KV).

- uploads per hour: every upload ticket (`POST /v1/assets`, `POST /v1/assets/uploads`);
- generated images per minute: the `count` of each accepted `POST /v1/generations` (a request that
  fails is refunded);
- open WebSockets (`GET /v1/events`): a lease per connection, renewed while it is open.

Stored bytes are the assets service's to count (it knows the sizes, and checks them when an upload
completes); queued generations are the inference service's. Every refusal is a 429 with
`Retry-After` and the limit in the problem: `{"quota": ..., "limit": ..., "window_s": ...}`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from services.gateway.auth import require_user
from services.gateway.quota_store import MemoryQuotaStore, NatsQuotaStore, QuotaStore
from services.gateway.settings import GatewaySettings
from shared.contexts import JS, CleanupCtx
from shared.errors import AtelierError, ServiceUnavailable, TooManyRequests
from shared.logging import get_logger

log = get_logger(__name__)
QUOTA_STORE = web.AppKey("quota_store", QuotaStore)
QUOTA_SETTINGS = web.AppKey("quota_settings", GatewaySettings)

UPLOADS = "uploads"
IMAGES = "images"
WEBSOCKETS = "websockets"


@dataclass(frozen=True)
class Window:
    kind: str
    what: str  # how the detail names one unit
    limit: int
    window_s: int


def windows(settings: GatewaySettings) -> dict[str, Window]:
    return {
        UPLOADS: Window(UPLOADS, "uploads", settings.quota_uploads_per_hour, 3600),
        IMAGES: Window(IMAGES, "generated images", settings.quota_images_per_minute, 60),
    }


def exceeded(kind: str, detail: str, limit: int, window_s: float, retry_after_s: int) -> TooManyRequests:
    return TooManyRequests(detail, headers={"Retry-After": str(retry_after_s)},
                           extra={"quota": kind, "limit": limit, "window_s": window_s,
                                  "retry_after_s": retry_after_s})


def _store(request: web.Request) -> QuotaStore:
    return request.app[QUOTA_STORE]


async def _guarded(coro: Awaitable[Any]) -> Any:
    """A quota store that does not answer is a 503 (never a 500, never a silent pass)."""
    try:
        return await coro
    except AtelierError:
        raise
    except Exception as exc:
        log.warning("gateway.quota.store_failed", error=type(exc).__name__)
        raise ServiceUnavailable("quotas cannot be checked right now; retry shortly",
                                 headers={"Retry-After": "2"}) from None


async def spend(request: web.Request, kind: str, amount: int = 1) -> None:
    """Spend `amount` of the caller's `kind` window, or raise the 429."""
    if not request.app[QUOTA_SETTINGS].quotas_enabled:
        return
    user = require_user(request)
    window = windows(request.app[QUOTA_SETTINGS])[kind]
    verdict = await _guarded(_store(request).hit(kind, user.id, amount, window.limit, window.window_s))
    if not verdict.allowed:
        unit = "hour" if window.window_s == 3600 else "minute"
        raise exceeded(kind, f"at most {window.limit} {window.what} per {unit} "
                       f"({verdict.used} used); retry in {verdict.retry_after_s} s",
                       window.limit, window.window_s, verdict.retry_after_s)


async def refund(request: web.Request, kind: str, amount: int = 1) -> None:
    if not request.app[QUOTA_SETTINGS].quotas_enabled:
        return
    user = require_user(request)
    with contextlib.suppress(Exception):
        await _store(request).refund(kind, user.id, amount, windows(request.app[QUOTA_SETTINGS])[kind].window_s)


async def spend_images(request: web.Request, payload: Mapping[str, Any],
                       call: Callable[[], Awaitable[bytes]]) -> bytes:
    """Route hook of `POST /v1/generations`: charge `count` images, refund them if the call fails."""
    amount = int(payload.get("count") or 1)
    await spend(request, IMAGES, amount)
    try:
        return await call()
    except BaseException:
        await asyncio.shield(refund(request, IMAGES, amount))
        raise


async def spend_upload(request: web.Request, payload: Mapping[str, Any],
                       call: Callable[[], Awaitable[bytes]]) -> bytes:
    """Route hook of `POST /v1/assets/uploads` (a direct upload ticket counts as an upload)."""
    await spend(request, UPLOADS)
    return await call()


@contextlib.asynccontextmanager
async def websocket_lease(request: web.Request, user_id: str, lease: str) -> AsyncIterator[None]:
    """Hold one of the user's WebSocket slots while the body runs (429 when none is free)."""
    settings = request.app[QUOTA_SETTINGS]
    if not settings.quotas_enabled:
        yield
        return
    store, limit, lease_s = _store(request), settings.quota_websockets_per_user, settings.quota_ws_lease_s
    verdict = await _guarded(store.acquire(WEBSOCKETS, user_id, lease, limit, lease_s))
    if not verdict.allowed:
        raise exceeded(WEBSOCKETS, f"at most {limit} live connections per user are open; close one "
                       f"or retry in {verdict.retry_after_s} s", limit, lease_s, verdict.retry_after_s)

    async def renew() -> None:
        while True:
            await asyncio.sleep(lease_s / 3)
            try:
                await store.renew(WEBSOCKETS, user_id, lease, lease_s)
            except Exception as exc:  # the next renewal tries again; the lease outlives two misses
                log.warning("gateway.quota.renew_failed", error=type(exc).__name__)

    renewer = asyncio.create_task(renew())
    try:
        yield
    finally:
        renewer.cancel()
        with contextlib.suppress(BaseException):
            await renewer
        try:
            await asyncio.shield(store.release(WEBSOCKETS, user_id, lease))
        except Exception as exc:  # it expires by itself after lease_s
            log.warning("gateway.quota.release_failed", error=type(exc).__name__)


def quota_ctx(settings: GatewaySettings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        if settings.quota_backend == "nats":
            app[QUOTA_STORE] = await NatsQuotaStore.open(app[JS], settings.quota_bucket, 3600.0,
                                                         timeout_s=settings.quota_timeout_s,
                                                         replicas=settings.nats_replicas)
        else:
            app[QUOTA_STORE] = MemoryQuotaStore()
        yield

    return ctx


def setup(app: web.Application, settings: GatewaySettings) -> None:
    """Open the store after NATS is up (call after the NATS context is appended)."""
    app[QUOTA_SETTINGS] = settings
    app.cleanup_ctx.append(quota_ctx(settings))
