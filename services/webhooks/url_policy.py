"""Where a webhook may be delivered: https to public addresses, unless the deployment allows more.

Checked when an endpoint is registered or its URL changes (422 with the reason) and again at every
delivery, after DNS resolution: the delivery's connector resolves through `GuardedResolver`, so a
name that later resolves to a private address (DNS rebinding) is refused before connecting, and
the connection goes to the address that was checked. Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from services.webhooks.settings import WebhooksSettings
from shared.errors import Unprocessable

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
# Cloud metadata services: never a webhook's target, whatever the address class says.
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254", "192.0.0.192"))


class RefusedAddress(OSError):
    """The target resolves to an address this deployment does not deliver to."""


def refusal(ip: IP, settings: WebhooksSettings) -> str | None:
    """Why `ip` may not receive webhooks here, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if settings.webhooks_allow_insecure else f"{ip} is a loopback address"
    if ip in METADATA:
        return None if settings.webhooks_allow_private else f"{ip} is a cloud metadata address"
    if ip.is_link_local:
        return None if settings.webhooks_allow_private else f"{ip} is a link-local address"
    if ip.is_multicast or ip.is_unspecified:
        return f"{ip} cannot receive webhooks"
    if ip.is_private or ip.is_reserved or not ip.is_global:
        return None if settings.webhooks_allow_private else f"{ip} is a private address"
    return None


def literal_ip(host: str) -> IP | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_scheme(url: str, settings: WebhooksSettings) -> str:
    """The URL's host; 422 when its scheme is not allowed here."""
    parts = urlsplit(url)
    if parts.scheme == "http" and not settings.webhooks_allow_insecure:
        raise Unprocessable("webhook URLs must use https://", errors=[
            {"field": "url", "message": "must use https://", "type": "https_required"}])
    return parts.hostname or ""


async def resolve(host: str, timeout_s: float) -> list[IP]:
    """Every address `host` resolves to (an IP literal is itself)."""
    ip = literal_ip(host)
    if ip is not None:
        return [ip]
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), timeout_s)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


async def check_url(url: str, settings: WebhooksSettings) -> None:
    """422 unless `url` may receive webhooks here: scheme, and every address its host resolves to."""
    host = check_scheme(url, settings)
    try:
        addresses = await resolve(host, settings.webhooks_dns_timeout_s)
    except (OSError, TimeoutError, UnicodeError, ValueError):
        raise Unprocessable(f"the host {host!r} does not resolve", errors=[
            {"field": "url", "message": "the host does not resolve", "type": "unresolvable"}]) from None
    for ip in addresses:
        reason = refusal(ip, settings)
        if reason is not None:
            raise Unprocessable(f"webhooks cannot be delivered to {host!r}: {reason}", errors=[
                {"field": "url", "message": reason, "type": "address_refused"}])


class GuardedResolver(AbstractResolver):
    """A resolver for the delivery client that refuses names resolving to a refused address."""

    def __init__(self, settings: WebhooksSettings) -> None:
        self._settings = settings
        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET,
                      ) -> list[ResolveResult]:
        results = await asyncio.wait_for(self._inner.resolve(host, port, family), self._settings.webhooks_dns_timeout_s)
        for result in results:
            reason = refusal(ipaddress.ip_address(result["host"]), self._settings)
            if reason is not None:
                raise RefusedAddress(f"{host} resolves to a refused address: {reason}")
        return results

    async def close(self) -> None:
        await self._inner.close()


def check_target(url: str, settings: WebhooksSettings) -> None:
    """At delivery: the scheme, and an IP-literal host (names are checked by `GuardedResolver`)."""
    parts = urlsplit(url)
    if parts.scheme == "http" and not settings.webhooks_allow_insecure:
        raise RefusedAddress("http:// is not allowed here")
    ip = literal_ip(parts.hostname or "")
    if ip is not None:
        reason = refusal(ip, settings)
        if reason is not None:
            raise RefusedAddress(reason)
