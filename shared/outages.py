"""Telling a dependency's outage (NATS, PostgreSQL, a peer's socket) from a bug.

An outage is worth retrying in a moment: the RPC layer and the HTTP edge answer it with a 503
problem and `Retry-After` instead of a 500. A bug stays a 500.
"""

from __future__ import annotations

import asyncpg
from nats import errors as nats_errors
from nats.js import errors as js_errors

from shared.errors import ServiceUnavailable

_NATS_OUTAGES: tuple[type[BaseException], ...] = (
    nats_errors.ConnectionClosedError, nats_errors.ConnectionReconnectingError,
    nats_errors.ConnectionDrainingError, nats_errors.OutboundBufferLimitError,
    nats_errors.StaleConnectionError, nats_errors.NoServersError, nats_errors.NoRespondersError,
    js_errors.ServiceUnavailableError, js_errors.NoStreamResponseError,
)
_DB_OUTAGES: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
    # A pooled connection whose server died under it: asyncpg finds it mid-operation ("cannot switch
    # to state ...; another operation is in progress") or closed, seen while PostgreSQL restarts.
    asyncpg.exceptions.InternalClientError, asyncpg.exceptions.ConnectionFailureError,
)
_CLOSED_CONNECTION = ("connection is closed", "connection was closed")


def outage_kind(exc: BaseException) -> str | None:
    """"nats", "database" or "network" when `exc` is a dependency being unreachable, else None."""
    if isinstance(exc, _NATS_OUTAGES):
        return "nats"
    if isinstance(exc, _DB_OUTAGES):
        return "database"
    if isinstance(exc, asyncpg.InterfaceError) and any(text in str(exc) for text in _CLOSED_CONNECTION):
        return "database"
    if isinstance(exc, TimeoutError):  # a pool acquire, a store round trip, a peer that does not answer
        return "network"
    if isinstance(exc, OSError) and not isinstance(exc, ConnectionResetError | FileNotFoundError | PermissionError):
        return "network"  # connection refused, host unreachable
    return None


def as_unavailable(exc: BaseException) -> ServiceUnavailable | None:
    """The 503 to answer for an outage, or None when `exc` is not one."""
    kind = outage_kind(exc)
    if kind is None:
        return None
    what = {"nats": "the message bus", "database": "the database", "network": "a dependency"}[kind]
    return ServiceUnavailable(f"{what} is not reachable right now; retry shortly")
