"""Rate limits: token buckets refill at their rate, and an empty bucket is a 429 with Retry-After."""

from __future__ import annotations

from aiohttp import web

from services.gateway.ratelimit import TokenBuckets, client_address, ip_rate_limit_middleware
from services.gateway.settings import GatewaySettings
from shared.web import create_base_app


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_burst_then_refills_at_rate() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate_per_s=2.0, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = buckets.take("a")
    assert 0.49 < wait <= 0.5  # one token comes back after 1/rate seconds
    assert buckets.take("b") == 0.0  # another client has its own bucket
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    clock.now += 100  # refill never exceeds the burst
    assert [buckets.take("a") for _ in range(4)][-1] > 0


def test_least_recently_used_buckets_are_forgotten_beyond_max_keys() -> None:
    buckets = TokenBuckets(rate_per_s=1.0, burst=1, max_keys=2, clock=FakeClock())
    for key in ("a", "b", "c"):
        buckets.take(key)
    assert len(buckets) == 2


def make_request_headers(xff: str) -> object:
    from aiohttp.test_utils import make_mocked_request

    return make_mocked_request("GET", "/", headers={"X-Forwarded-For": xff})


def test_client_address_trusts_forwarded_for_only_when_configured() -> None:
    request = make_request_headers("203.0.113.9, 10.0.0.2")
    assert client_address(request, 0) != "203.0.113.9"  # type: ignore[arg-type]
    assert client_address(request, 2) == "203.0.113.9"  # type: ignore[arg-type]
    assert client_address(request, 1) == "10.0.0.2"  # type: ignore[arg-type]


def tiny_app(clock: FakeClock) -> web.Application:
    settings = GatewaySettings(rate_limit_ip_per_s=0.5, rate_limit_ip_burst=2)
    app = create_base_app(middlewares=[ip_rate_limit_middleware(settings, clock=clock)])

    async def hello(_: web.Request) -> web.Response:
        return web.json_response({"hello": "world"})

    app.router.add_get("/hello", hello)
    return app


async def test_tiny_limit_answers_429_problem_with_retry_after(aiohttp_client) -> None:
    # A fake clock, so the wait (and so Retry-After) does not depend on how fast the requests run.
    clock = FakeClock()
    client = await aiohttp_client(tiny_app(clock))
    statuses = [(await client.get("/hello")).status for _ in range(2)]
    assert statuses == [200, 200]
    resp = await client.get("/hello")
    assert resp.status == 429
    assert resp.content_type == "application/problem+json"
    assert resp.headers["Retry-After"] == "2"  # one token comes back after 1/rate = 2 s
    body = await resp.json()
    assert body["status"] == 429 and body["retry_after_s"] == 2
    clock.now += 1.5  # a partly refilled bucket still refuses; Retry-After rounds the rest up
    resp = await client.get("/hello")
    assert resp.status == 429 and resp.headers["Retry-After"] == "1"
    clock.now += 0.5  # now a whole token is back
    assert (await client.get("/hello")).status == 200
    # Health probes are never limited: an orchestrator must always reach them.
    assert (await client.get("/healthz")).status == 200
