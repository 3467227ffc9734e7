"""Connecting to NATS with timeouts, endless reconnects and logged state changes; who wants to hear
of the publishes the server refused (`on_publish_refused`)."""

from __future__ import annotations

import re
import ssl
import weakref
from collections.abc import Callable
from typing import Any

from nats.aio.client import Client as NATS

from shared.logging import get_logger
from shared.messaging.permissions import inbox_prefix
from shared.settings import ServiceSettings

log = get_logger(__name__)
# nats-py hands the server's `-ERR 'Permissions Violation for Publish to "<subject>"'` to the error
# callback, lower-cased; the connection stays up.
_REFUSED = re.compile(r'permissions violation for publish to "([^"]+)"')
_refusal_listeners: weakref.WeakKeyDictionary[NATS, list[Callable[[str], None]]] = weakref.WeakKeyDictionary()


def on_publish_refused(nc: NATS, listener: Callable[[str], None]) -> Callable[[], None]:
    """`listener(subject)` hears of every publish the server refused `nc` for lack of permission (the
    subject lower-cased, as nats-py reports it); only for connections made by `connect` here. Returns
    what stops it (a listener that holds `nc` would otherwise keep the connection's entry alive)."""
    listeners = _refusal_listeners.setdefault(nc, [])
    listeners.append(listener)

    def stop() -> None:
        if listener in listeners:
            listeners.remove(listener)
        if not listeners:
            _refusal_listeners.pop(nc, None)

    return stop


def publish_refused(nc: NATS, error: str) -> None:
    """Tell `nc`'s listeners when `error` (as nats-py reports it) is a refused publish."""
    found = _REFUSED.search(error.lower())
    if found is None:
        return
    for listener in _refusal_listeners.get(nc, []):
        try:
            listener(found.group(1))
        except Exception:
            log.exception("nats.refusal_listener_failed")


def server_urls(url: str) -> list[str]:
    """`nats://a:4222,nats://b:4222` -> both URLs: a client of a cluster knows every server."""
    return [part.strip() for part in url.split(",") if part.strip()]


async def connect(url: str, *, name: str, connect_timeout_s: float = 5.0, **options: Any) -> NATS:
    nc = NATS()

    async def on_error(exc: Exception) -> None:
        log.warning("nats.error", error=str(exc) or type(exc).__name__)
        publish_refused(nc, str(exc))

    async def on_disconnected() -> None:
        log.warning("nats.disconnected")

    async def on_reconnected() -> None:
        log.info("nats.reconnected")

    # Seconds, fractions welcome (nats-py waits with asyncio; its type hints say int).
    waits: dict[str, Any] = {"connect_timeout": connect_timeout_s, "reconnect_time_wait": 0.5}
    await nc.connect(
        servers=server_urls(url),
        name=name,
        max_reconnect_attempts=-1,
        allow_reconnect=True,
        **waits,
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
        **options,
    )
    return nc


def identity_options(settings: ServiceSettings) -> dict[str, Any]:
    """nats-py `connect` options for the identity and TLS the settings name (none when unset)."""
    options: dict[str, Any] = {}
    if settings.nats_user:
        options["user"] = settings.nats_user
        options["password"] = settings.nats_password.get_secret_value()
    prefix = settings.nats_inbox_prefix or (inbox_prefix(settings.nats_user) if settings.nats_user else "")
    if prefix:
        options["inbox_prefix"] = prefix
    if settings.nats_tls_ca_file is not None:
        options["tls"] = ssl.create_default_context(cafile=str(settings.nats_tls_ca_file))
    return options


async def connect_as(settings: ServiceSettings, *, name: str | None = None) -> NATS:
    """Connect with the URL, identity, inbox prefix and TLS of `settings`."""
    return await connect(settings.nats_url, name=name or f"atelier-{settings.service_name}",
                         connect_timeout_s=settings.nats_connect_timeout_s, **identity_options(settings))
