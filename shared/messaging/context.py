"""Request context carried across NATS in headers and bound into structlog's contextvars."""

from __future__ import annotations

from collections.abc import Mapping

from shared.logging import get_context

REQUEST_ID = "X-Request-ID"
CORRELATION_ID = "Atelier-Correlation-Id"
CAUSATION_ID = "Atelier-Causation-Id"
# The calling user. Callees may trust it: only the peers declared in shared/messaging/permissions.py
# can publish on `svc.>` (the gateway sets it from a verified token, a service for the user it acts for).
ACTOR = "Atelier-Actor"
DEADLINE = "Atelier-Deadline"  # unix time in ms after which the caller no longer waits

_HEADER_TO_KEY = {REQUEST_ID: "request_id", CORRELATION_ID: "correlation_id", ACTOR: "actor_id"}


def outgoing_headers(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Headers that carry the current context to the next hop."""
    ctx = get_context()
    headers = {h: str(ctx[k]) for h, k in _HEADER_TO_KEY.items() if ctx.get(k)}
    if REQUEST_ID in headers and CORRELATION_ID not in headers:
        headers[CORRELATION_ID] = headers[REQUEST_ID]
    if extra:
        headers.update(extra)
    return headers


def context_from_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The context a message carries, as contextvar names (for `bound_context(**...)`)."""
    return {k: headers[h] for h, k in _HEADER_TO_KEY.items() if headers and headers.get(h)}
