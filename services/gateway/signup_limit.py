"""Sign-ups per client: at most `ATELIER_SIGNUP_PER_CLIENT` accounts attempted per client address in
`ATELIER_SIGNUP_WINDOW_S` seconds, counted in the quota KV bucket so every gateway replica shares
the count (a fixed window, as the shared rate limiter counts: shared_ratelimit.py).

Without an email service nothing proves an address belongs to whoever signs up, so the sign-up
conflict cannot be silent; community answers one generic problem for a taken username or email
instead ("that username or email cannot be used"), and this limit bounds how many addresses one
client can probe with it (an IPv6 client is counted by its /64). Every attempt that passes
validation counts, whatever it answers: a 409 (the probe) and a 201 (a throwaway account made to
test an address) alike. Past the limit the answer is a 429 with `Retry-After` and `{"limit",
"window_s", "retry_after_s"}` in the problem; no hashing and no write happen. If the bucket does
not answer, the sign-up goes through (a guard, like the rate limits; the failure is logged).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from services.gateway.quotas import QUOTA_SETTINGS, QUOTA_STORE
from services.gateway.ratelimit import client_address
from shared.errors import TooManyRequests
from shared.logging import get_logger

log = get_logger(__name__)
KIND = "signup"


def client_key(address: str) -> str:
    """The KV key counting an address: an IPv4 address as it is, an IPv6 one by its /64 (one host
    usually holds a whole /64 and could otherwise take a fresh address per sign-up)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        text = address
    else:
        text = str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:128] or "unknown"


async def limit_signups(request: web.Request, payload: Mapping[str, Any],
                        call: Callable[[], Awaitable[bytes]]) -> bytes:
    """Route hook of `POST /v1/auth/signup`: count the attempt for its client, or answer 429."""
    settings = request.app[QUOTA_SETTINGS]
    if settings.signup_per_client:
        limit, window = settings.signup_per_client, settings.signup_window_s
        client = client_address(request, settings.forwarded_hops)
        try:
            verdict = await request.app[QUOTA_STORE].hit(KIND, client_key(client), 1, limit, window)
        except Exception as exc:
            log.warning("gateway.signup_limit.store_failed", error=type(exc).__name__)
        else:
            if not verdict.allowed:
                log.info("gateway.signup_limit.refused", client=client, limit=limit)
                raise TooManyRequests(
                    f"too many sign-ups from this address (at most {limit} in {window} s); "
                    f"retry in {verdict.retry_after_s} s",
                    headers={"Retry-After": str(verdict.retry_after_s)},
                    extra={"limit": limit, "window_s": window, "retry_after_s": verdict.retry_after_s})
    return await call()
