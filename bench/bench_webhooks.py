"""Webhook delivery at 100 endpoints: events published on JetStream → the webhooks service's durable
consumer → one delivery row per endpoint → signed POSTs to a local aiohttp receiver, alternated
with the floor: the same number of signed POSTs sent straight to the same receiver by one aiohttp
client at the service's concurrency (64 in flight).

    python -m bench.bench_webhooks [EVENTS]   (events per round, default 30: x100 endpoints = 3000
                                               deliveries; ATELIER_BENCH_ROUNDS, default 3)

One user owns 100 endpoints subscribed to `community.work.liked`; each event is a like of one of
their works, published as community would (CloudEvent, `Nats-Msg-Id`).
- Throughput: every round publishes EVENTS events at once, a burst of EVENTS x 100 deliveries:
  deliveries per second (first publish → last receipt) beside the floor's requests per second.
- Latency: every round then publishes 10 events one after another, each once the previous one's
  100 deliveries all arrived: publish → receipt per delivery (p50, p99 over every round). In a
  burst the latency is only the queue's length divided by the rate.
Goals: deliveries/s ≥ 0.25 x the floor (the service writes and updates one PostgreSQL row per
delivery and signs each body; the floor does neither); p99 publish → receipt ≤ 2 s when one event
fans out to 100 endpoints.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import time
from typing import Any

import aiohttp

from bench.common import started_stack
from bench.harness import Goal, alternate_async, current, percentile, rounds, show_percentile, spread
from shared.contracts.events import make_event
from shared.contracts.events.catalog import WorkLiked
from shared.ids import new_id
from shared.messaging.connection import connect
from shared.messaging.publisher import publish_event
from tests.support.webhook_receiver import Receiver

ENDPOINTS = 100
CONCURRENCY = 64  # the service's default ATELIER_WEBHOOKS_MAX_CONCURRENT
RATE = Goal("webhooks.deliveries_per_s", f"deliveries/s to {ENDPOINTS} endpoints", "direct signed POSTs", ">=", 0.25)
P99 = Goal("webhooks.publish_to_receipt_p99",
           f"publish -> receipt per delivery, one event to {ENDPOINTS} endpoints, p99", "", "<=", 2000.0, "ms")
LATENCY_EVENTS = 10


async def owner_with_endpoints(http: aiohttp.ClientSession, receiver: Receiver) -> tuple[str, str]:
    name = "bench_" + secrets.token_hex(4)
    async with http.post("/v1/auth/signup", json={"username": name, "email": f"{name}@example.com",
                                                  "password": "bench password 1"}) as resp:
        assert resp.status == 201, await resp.text()
        session = await resp.json()
    auth = {"Authorization": f"Bearer {session['token']}"}
    secret = ""
    for i in range(ENDPOINTS):
        async with http.post("/v1/webhooks", headers=auth, json={"url": receiver.url(f"e{i}"),
                                                                 "event_types": ["community.work.liked"]}) as resp:
            assert resp.status == 201, await resp.text()
            secret = (await resp.json())["secret"]
    return session["user"]["id"], secret


def received(receiver: Receiver) -> int:
    return sum(len(v) for v in receiver.received.values())


async def wait_for(receiver: Receiver, total: int, timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while received(receiver) < total:
        assert time.monotonic() < deadline, f"only {received(receiver)} of {total} deliveries arrived"
        await asyncio.sleep(0.02)


async def system_round(js: Any, receiver: Receiver, owner_id: str, events: int) -> tuple[float, list[float]]:
    receiver.received.clear()
    sent: dict[str, float] = {}
    liked = [make_event(WorkLiked(work_id=new_id(), user_id=new_id(), author_id=owner_id), service="community",
                        subject_id=new_id()) for _ in range(events)]
    began = time.time()
    for event in liked:
        sent[event.id] = time.time()
        await publish_event(js, event, timeout=5)
    await wait_for(receiver, events * ENDPOINTS)
    requests = [r for rs in receiver.received.values() for r in rs]
    rate = len(requests) / (max(r.at for r in requests) - began)
    receiver.received.clear()
    for i in range(LATENCY_EVENTS):  # one event at a time: what one delivery waits when nothing queues
        event = make_event(WorkLiked(work_id=new_id(), user_id=new_id(), author_id=owner_id), service="community",
                           subject_id=new_id())
        sent[event.id] = time.time()
        await publish_event(js, event, timeout=5)
        await wait_for(receiver, (i + 1) * ENDPOINTS)
    requests = [r for rs in receiver.received.values() for r in rs]
    return rate, [1000 * (r.at - sent[json.loads(r.body)["id"]]) for r in requests]


async def floor_round(receiver: Receiver, secret: str, events: int) -> float:
    """The same deliveries sent straight from one client, `CONCURRENCY` in flight, signed alike."""
    from services.webhooks.signing import signed_headers  # the service's own signing step

    receiver.received.clear()
    body = make_event(WorkLiked(work_id=new_id(), user_id=new_id(), author_id=new_id()), service="community",
                      subject_id=new_id()).to_json().decode()
    jobs = [receiver.url(f"e{i}") for _ in range(events) for i in range(ENDPOINTS)]
    gate = asyncio.Semaphore(CONCURRENCY)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
        async def post(url: str) -> None:
            async with gate, client.post(url, data=body.encode(), headers=signed_headers(new_id(), body, [secret])
                                         ) as resp:
                await resp.read()

        began = time.time()
        await asyncio.gather(*(post(url) for url in jobs))
    await wait_for(receiver, len(jobs))
    return len(jobs) / (time.time() - began)


async def run(stack: Any, events: int, n_rounds: int) -> None:
    results = current()
    receiver = await Receiver().start()
    nc = await connect(stack.endpoints.nats_url, name="bench-webhooks")
    js = nc.jetstream(timeout=5)
    try:
        async with aiohttp.ClientSession(base_url=stack.service_urls["gateway"]) as http:
            owner_id, secret = await owner_with_endpoints(http, receiver)
        await system_round(js, receiver, owner_id, 2)  # warm-up: consumers bound, connections open
        await floor_round(receiver, secret, 2)
        samples = await alternate_async(n_rounds, {
            "webhooks": lambda: system_round(js, receiver, owner_id, events),
            "direct": lambda: floor_round(receiver, secret, events)})
    finally:
        await nc.drain()
        await receiver.stop()
    rates = [rate for rate, _ in samples["webhooks"]]
    latencies = [ms for _, batch in samples["webhooks"] for ms in batch]
    ratios = spread([s / d for s, d in zip(rates, samples["direct"], strict=True)])
    results.figure("webhooks.samples", f"{n_rounds} rounds: bursts of {events} events x {ENDPOINTS} endpoints, "
                   f"{len(latencies)} latency samples ({LATENCY_EVENTS} events x {ENDPOINTS} per round)")
    results.figure("webhooks.deliveries_per_s", spread(rates), "/s")
    results.figure("webhooks.direct_posts_per_s", spread(samples["direct"]), "/s")
    print(f"webhooks.publish_to_receipt (one event at a time): p50 {show_percentile(latencies, 50)}, "
          f"p99 {show_percentile(latencies, 99)}", flush=True)
    results.check(RATE, ratios.median, spread_of=ratios)
    results.check(P99, percentile(latencies, 99), note=f"p50 {show_percentile(latencies, 50)}, n={len(latencies)}")


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    os.environ.setdefault("ATELIER_RATE_LIMIT_ENABLED", "false")  # 100 endpoints created back to back
    os.environ.setdefault("ATELIER_WEBHOOKS_MAX_ENDPOINTS_PER_USER", str(ENDPOINTS))
    os.environ.setdefault("ATELIER_LOG_LEVEL", "warning")
    with started_stack(services=["community", "webhooks", "gateway"]) as stack:
        asyncio.run(run(stack, events, rounds(3)))


if __name__ == "__main__":
    main()
