"""Connecting to NATS with timeouts, endless reconnects and logged state changes."""

from __future__ import annotations

import ssl
from typing import Any

import nats
from nats.aio.client import Client as NATS

from shared.logging import get_logger
from shared.messaging.permissions import inbox_prefix
from shared.settings import ServiceSettings

log = get_logger(__name__)


def server_urls(url: str) -> list[str]:
    """`nats://a:4222,nats://b:4222` -> both URLs: a client of a cluster knows every server."""
    return [part.strip() for part in url.split(",") if part.strip()]


async def connect(url: str, *, name: str, connect_timeout_s: float = 5.0, **options: Any) -> NATS:
    async def on_error(exc: Exception) -> None:
        log.warning("nats.error", error=str(exc) or type(exc).__name__)

    async def on_disconnected() -> None:
        log.warning("nats.disconnected")

    async def on_reconnected() -> None:
        log.info("nats.reconnected")

    return await nats.connect(
        servers=server_urls(url),
        name=name,
        connect_timeout=connect_timeout_s,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        allow_reconnect=True,
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
        **options,
    )


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
