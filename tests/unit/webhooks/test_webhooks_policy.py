"""Where webhooks may go, how they are signed and when they are retried (no servers)."""

from __future__ import annotations

import ipaddress
import json
import socket
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from services.webhooks.dispatcher import retry_wait
from services.webhooks.endpoints import new_secret
from services.webhooks.settings import DEFAULT_SCHEDULE, WebhooksSettings
from services.webhooks.signing import signed_headers
from services.webhooks.url_policy import GuardedResolver, RefusedAddress, check_target, check_url, refusal
from shared.contracts.events.audience import describe, may_see
from shared.errors import Unprocessable

STRICT = WebhooksSettings(webhooks_allow_insecure=False, webhooks_allow_private=False)
LOCAL = WebhooksSettings(webhooks_allow_insecure=True, webhooks_allow_private=False)
INSIDE = WebhooksSettings(webhooks_allow_insecure=True, webhooks_allow_private=True)


@pytest.mark.parametrize(("address", "strict", "local", "inside"), [
    ("93.184.216.34", True, True, True),  # a public address
    ("2606:2800:220:1:248:1893:25c8:1946", True, True, True),
    ("127.0.0.1", False, True, True),
    ("::1", False, True, True),
    ("10.0.0.1", False, False, True),
    ("172.16.5.4", False, False, True),
    ("192.168.1.1", False, False, True),
    ("100.64.0.1", False, False, True),  # carrier-grade NAT: not global
    ("169.254.169.254", False, False, True),  # cloud metadata
    ("fe80::1", False, False, True),
    ("fd00:ec2::254", False, False, True),
    ("::ffff:10.0.0.1", False, False, True),
    ("0.0.0.0", False, False, False),
    ("224.0.0.1", False, False, False),
])
def test_addresses_allowed_by_each_setting(address: str, strict: bool, local: bool, inside: bool) -> None:
    ip = ipaddress.ip_address(address)
    assert [refusal(ip, s) is None for s in (STRICT, LOCAL, INSIDE)] == [strict, local, inside]


async def test_registration_checks_the_scheme_and_every_resolved_address() -> None:
    with pytest.raises(Unprocessable, match="https"):
        await check_url("http://93.184.216.34/hook", STRICT)
    await check_url("https://93.184.216.34/hook", STRICT)
    with pytest.raises(Unprocessable, match="loopback"):
        await check_url("https://localhost/hook", STRICT)  # a name resolving to loopback
    await check_url("http://localhost:9/hook", LOCAL)
    with pytest.raises(Unprocessable, match="private"):
        await check_url("http://10.2.3.4/", LOCAL)
    await check_url("http://10.2.3.4/", INSIDE)
    with pytest.raises(Unprocessable, match="does not resolve"):
        await check_url("https://no-such-host.invalid/", STRICT)


async def test_delivery_refuses_literal_and_resolved_private_targets() -> None:
    with pytest.raises(RefusedAddress):
        check_target("http://169.254.169.254/latest", LOCAL)
    with pytest.raises(RefusedAddress):
        check_target("http://127.0.0.1/", STRICT)
    check_target("http://127.0.0.1/", LOCAL)
    resolver = GuardedResolver(STRICT)
    try:
        with pytest.raises(RefusedAddress):
            await resolver.resolve("localhost", 80, socket.AF_INET)  # rebinding to loopback is caught here
    finally:
        await resolver.close()


def test_signatures_verify_with_each_secret_during_a_rotation() -> None:
    old, new = new_secret(), new_secret()
    body = json.dumps({"type": "atelier.community.work.liked", "data": {}})
    headers = signed_headers("01J0000000000000000000WHID", body, [new, old], datetime.now(UTC))
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(body, headers) == json.loads(body)
    assert Webhook(old).verify(body, headers) == json.loads(body)
    with pytest.raises(Exception, match="signature"):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(Exception, match="signature"):
        Webhook(new).verify(body.replace("liked", "commented"), headers)


def test_retries_back_off_with_jitter_then_stop() -> None:
    settings = WebhooksSettings(webhooks_retry_schedule_s=DEFAULT_SCHEDULE, webhooks_retry_jitter=0.2)
    waits = [retry_wait(settings, n) for n in range(1, len(DEFAULT_SCHEDULE) + 2)]
    assert waits[-1] is None  # the schedule is spent: the endpoint gets disabled
    for wait, planned in zip(waits, DEFAULT_SCHEDULE, strict=False):
        assert wait is not None and planned * 0.8 <= wait <= planned * 1.2
    assert 20 * 3600 <= sum(DEFAULT_SCHEDULE) <= 30 * 3600  # about a day
    assert len({retry_wait(settings, 3) for _ in range(20)}) > 1  # jittered
    short = WebhooksSettings(webhooks_retry_schedule_s="0.5, 1")  # type: ignore[arg-type]
    assert short.webhooks_retry_schedule_s == (0.5, 1.0) and retry_wait(short, 3) is None


def event(subject: str, **data: object) -> bytes:
    return json.dumps({"type": f"atelier.{subject}", "id": "e1", "data": data}).encode()


def test_a_webhook_owner_sees_what_the_websocket_would_show_them() -> None:
    own = describe("INFERENCE", 1, event("inference.generation.completed", owner_id="u1"))
    assert may_see(own, "u1") and not may_see(own, "u2")
    public = describe("COMMUNITY", 2, event("community.work.published", author_id="u1", visibility="public"))
    assert may_see(public, "u2")
    unlisted = describe("COMMUNITY", 3, event("community.work.published", author_id="u1", visibility="unlisted"))
    assert may_see(unlisted, "u1") and not may_see(unlisted, "u2")
    like = describe("COMMUNITY", 4, event("community.work.liked", author_id="u1", user_id="u2", work_id="w"))
    assert may_see(like, "u1") and not may_see(like, "u2") and not may_see(like, "u3")
    own_like = describe("COMMUNITY", 5, event("community.work.liked", author_id="u1", user_id="u1", work_id="w"))
    assert not may_see(own_like, "u1")
    asset = describe("ASSETS", 6, event("assets.asset.stored", owner_id="u1"))
    assert may_see(asset, "u1") and not may_see(asset, "u2")
    created = describe("COMMUNITY", 7, event("community.user.created", user_id="u1"))
    assert not may_see(created, "u1")
