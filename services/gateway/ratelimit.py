"""Per-IP and per-user rate limits: token buckets held in memory by each gateway process.

Every request spends one token from its client address's bucket (before authentication, so a
flood of bad tokens is limited too) and, once the caller is known, one from the user's bucket.
An empty bucket answers 429 with `Retry-After`. With N replicas a client gets up to N times the
configured rate; the HPA keeps N small and the limits are a guard, not a quota.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from services.gateway.auth import current_user
from services.gateway.settings import GatewaySettings
from shared.errors import TooManyRequests

EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Buckets keyed by client; the least recently used are forgotten beyond `max_keys` (a
    forgotten bucket comes back full, which errs on the side of letting a request through)."""

    def __init__(self, rate_per_s: float, burst: int, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        """Spend one token; returns 0 when allowed, else the seconds until one is available."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
            self._buckets[key] = bucket
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)


def client_address(request: web.Request, forwarded_hops: int) -> str:
    """The client's IP: the peer, or the entry `forwarded_hops` from the right of X-Forwarded-For."""
    if forwarded_hops:
        chain = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",") if p.strip()]
        if len(chain) >= forwarded_hops:
            return chain[-forwarded_hops]
    return request.remote or "unknown"


def _limited(wait_s: float, who: str) -> TooManyRequests:
    retry_after = max(1, math.ceil(wait_s))
    return TooManyRequests(f"too many requests from this {who}; retry in {retry_after} s",
                           headers={"Retry-After": str(retry_after)}, extra={"retry_after_s": retry_after})


def ip_rate_limit_middleware(settings: GatewaySettings, *,
                             clock: Callable[[], float] = time.monotonic) -> Callable[..., object]:
    buckets = TokenBuckets(settings.rate_limit_ip_per_s, settings.rate_limit_ip_burst,
                           max_keys=settings.rate_limit_max_keys, clock=clock)

    @web.middleware
    async def ip_rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in EXEMPT_PATHS:
            wait_s = buckets.take(client_address(request, settings.forwarded_hops))
            if wait_s:
                raise _limited(wait_s, "address")
        return await handler(request)

    return ip_rate_limit


def user_rate_limit_middleware(settings: GatewaySettings, *,
                               clock: Callable[[], float] = time.monotonic) -> Callable[..., object]:
    buckets = TokenBuckets(settings.rate_limit_user_per_s, settings.rate_limit_user_burst,
                           max_keys=settings.rate_limit_max_keys, clock=clock)

    @web.middleware
    async def user_rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        user = current_user(request)
        if user is not None and request.path not in EXEMPT_PATHS:
            wait_s = buckets.take(user.id)
            if wait_s:
                raise _limited(wait_s, "user")
        return await handler(request)

    return user_rate_limit
