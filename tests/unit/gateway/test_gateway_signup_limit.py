"""The sign-up limit per client, without servers: the attempt past the limit is a 429 with
Retry-After that never reaches community; another client is counted apart, an IPv6 client by its
/64; a quota store that fails lets sign-ups through."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from services.gateway.quota_store import MemoryQuotaStore
from services.gateway.quotas import QUOTA_SETTINGS, QUOTA_STORE
from services.gateway.settings import GatewaySettings
from services.gateway.signup_limit import client_key, limit_signups
from shared.errors import TooManyRequests


def _app(store: Any, limit: int = 2) -> web.Application:
    app = web.Application()
    app[QUOTA_SETTINGS] = GatewaySettings(signup_per_client=limit, signup_window_s=600, forwarded_hops=1)
    app[QUOTA_STORE] = store
    return app


async def _signup(app: web.Application, address: str, calls: list[str]) -> bytes:
    request = make_mocked_request("POST", "/v1/auth/signup", app=app, headers={"X-Forwarded-For": address})

    async def call() -> bytes:
        calls.append(address)
        return b"{}"

    return await limit_signups(request, {}, call)


async def test_the_attempt_past_the_limit_is_refused_before_community() -> None:
    app, calls = _app(MemoryQuotaStore()), []
    for _ in range(2):
        await _signup(app, "198.51.100.7", calls)
    with pytest.raises(TooManyRequests) as refused:
        await _signup(app, "198.51.100.7", calls)
    assert calls == ["198.51.100.7"] * 2
    assert int(refused.value.headers["Retry-After"]) >= 1
    assert refused.value.extra["limit"] == 2 and refused.value.extra["window_s"] == 600
    await _signup(app, "198.51.100.8", calls)  # another client is not affected
    assert calls[-1] == "198.51.100.8"


async def test_an_ipv6_client_is_counted_by_its_64() -> None:
    app, calls = _app(MemoryQuotaStore()), []
    await _signup(app, "2001:db8:1:2::1", calls)
    await _signup(app, "2001:db8:1:2:ffff::9", calls)
    with pytest.raises(TooManyRequests):
        await _signup(app, "2001:db8:1:2:abcd::42", calls)
    await _signup(app, "2001:db8:1:3::1", calls)  # the next /64 is another client
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") != client_key("2001:db8:1:3::1")
    assert client_key("198.51.100.7") == "198_51_100_7"


async def test_a_failing_store_lets_sign_ups_through() -> None:
    class Broken:
        async def hit(self, *args: Any) -> Any:
            raise TimeoutError

    app, calls = _app(Broken(), limit=1), []
    for _ in range(3):
        await _signup(app, "198.51.100.9", calls)
    assert len(calls) == 3


async def test_zero_turns_the_limit_off() -> None:
    app, calls = _app(MemoryQuotaStore(), limit=0), []
    for _ in range(5):
        await _signup(app, "198.51.100.10", calls)
    assert len(calls) == 5
