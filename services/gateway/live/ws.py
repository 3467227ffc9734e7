"""`GET /v1/events`: authenticate, upgrade, run the connection; the hub's lifecycle.

Browsers cannot set headers on a WebSocket, so besides `Authorization: Bearer` the token may come
as the `token` query parameter or as a subprotocol: offer `["atelier.v1", "bearer.<token>"]` and
the server answers with `atelier.v1` (a subprotocol must be chosen, or browsers drop the socket).

A socket lives as long as its token does: it closes with 4001 when the token expires and with 4401
as soon as the gateway learns the token was revoked (the account deleted, the password changed:
revocations.py calls `revoked_closer`), within the time the event takes to reach the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from services.gateway import quotas
from services.gateway.auth import VERIFIER, AuthUser, current_user, token_from_request
from services.gateway.live.connection import EventsConnection
from services.gateway.live.hub import Hub
from services.gateway.revocations import REVOCATIONS, Revocations
from services.gateway.settings import GatewaySettings
from shared.contexts import JS, NC
from shared.errors import ServiceUnavailable, Unauthorized
from shared.ids import new_id

PROTOCOL = "atelier.v1"
BEARER_PROTOCOL_PREFIX = "bearer."
HUB = web.AppKey("live_hub", Hub)
LIVE_SETTINGS = web.AppKey("live_settings", GatewaySettings)
CONNECTIONS = web.AppKey("live_connections", set[EventsConnection])
REVOKED_CLOSE_CODE = 4401  # the token was revoked: the account was deleted or its password changed


def ws_token(request: web.Request) -> str | None:
    """The bearer token from the header, the `token` query parameter or a `bearer.` subprotocol."""
    token = token_from_request(request) or request.query.get("token")
    if token:
        return token
    for protocol in request.headers.get("Sec-WebSocket-Protocol", "").split(","):
        protocol = protocol.strip()
        if protocol.startswith(BEARER_PROTOCOL_PREFIX) and len(protocol) > len(BEARER_PROTOCOL_PREFIX):
            return protocol[len(BEARER_PROTOCOL_PREFIX):]
    return None


async def events_ws(request: web.Request) -> web.StreamResponse:
    token = ws_token(request)
    if not token:
        raise Unauthorized("sign in first: send the token as a Bearer header, `token` query parameter "
                           "or `bearer.<token>` subprotocol", headers={"WWW-Authenticate": "Bearer"})
    user = current_user(request) or request.app[VERIFIER].verify(token)
    settings = request.app[LIVE_SETTINGS]
    connections = request.app[CONNECTIONS]
    if len(connections) >= settings.ws_max_connections:
        raise ServiceUnavailable("too many live connections on this gateway; retry shortly",
                                 headers={"Retry-After": "5"})
    async with quotas.websocket_lease(request, user.id, new_id()):
        return await _serve(request, user, settings)


async def _serve(request: web.Request, user: AuthUser, settings: GatewaySettings) -> web.StreamResponse:
    ws = web.WebSocketResponse(protocols=(PROTOCOL,), heartbeat=settings.ws_heartbeat_s, compress=False,
                               max_msg_size=64 * 1024, timeout=settings.ws_close_timeout_s)
    if not ws.can_prepare(request).ok:
        raise web.HTTPBadRequest(text="this endpoint speaks WebSocket only (send an Upgrade request)")
    await ws.prepare(request)
    conn = EventsConnection(request, ws, user.id, hub=request.app[HUB], nc=request.app[NC], settings=settings,
                            issued_ms=user.issued_ms)
    timer = asyncio.get_running_loop().call_later(max(0.0, user.expires_at - time.time()), conn.request_close,
                                                  4001, "token expired: reconnect with a fresh token")
    connections = request.app[CONNECTIONS]
    connections.add(conn)
    # A revocation learnt while this socket was being opened (after the token was checked) had no
    # connection to close yet: check once more now that it is registered.
    revocations = request.app.get(REVOCATIONS)
    if revocations is not None:
        close_if_revoked(conn, revocations)
    try:
        await conn.run()
    finally:
        connections.discard(conn)
        timer.cancel()
    return ws


def close_if_revoked(conn: EventsConnection, revocations: Revocations) -> bool:
    """Close `conn` with 4401 when its token is now refused; True if it was."""
    reason = revocations.refusal(conn.subscriber.user_id, conn.issued_ms)
    if reason is None:
        return False
    conn.request_close(REVOKED_CLOSE_CODE, f"token revoked: {reason}")
    return True


def revoked_closer(app: web.Application) -> Callable[[str], None]:
    """The revocations listener: every open socket of the user whose token is now refused closes."""

    def on_revoked(user_id: str) -> None:
        revocations = app[REVOCATIONS]
        for conn in [c for c in app[CONNECTIONS] if c.subscriber.user_id == user_id]:
            close_if_revoked(conn, revocations)

    return on_revoked


def live_ctx(settings: GatewaySettings) -> object:
    """Start the hub after NATS is up; stop it before NATS drains."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        hub = Hub(app[JS], timeout_s=settings.publish_timeout_s)
        await hub.start()
        app[HUB] = hub
        try:
            yield
        finally:
            await hub.stop()

    return ctx


async def close_connections(app: web.Application) -> None:
    """On shutdown: every client gets a clean 1001 close (and reconnects elsewhere with `since`)."""
    live: set[EventsConnection] = app[CONNECTIONS]
    connections = list(live)
    for conn in connections:
        conn.request_close(1001, "server shutting down")
    if connections:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(c.finished.wait() for c in connections)),
                                   timeout=app[LIVE_SETTINGS].ws_close_timeout_s + 1)


def setup(app: web.Application, settings: GatewaySettings) -> None:
    app[LIVE_SETTINGS] = settings
    app[CONNECTIONS] = set()
    if REVOCATIONS in app:
        app[REVOCATIONS].on_revoked(revoked_closer(app))
    app.cleanup_ctx.append(live_ctx(settings))  # type: ignore[arg-type]
    app.on_shutdown.append(close_connections)
    app.router.add_get("/v1/events", events_ws)
