"""Event latency on the user's path: `POST /v1/works` → outbox → JetStream → an external nats-py
subscriber receiving `community.work.published`, alternated with the bare JetStream floor.

    python -m bench.bench_events [N]        (N user-path events, default 400; ATELIER_BENCH_ROUNDS, default 4)

The subscriber is what examples/work_subscriber.py is: a durable pull consumer on the COMMUNITY
stream filtered to the subject, fetching and acking. Each POST is sent only after the previous
event arrived, so the figures are per-event latency, not throughput. The floor is a publish to a
stream of its own read by the same kind of consumer: what JetStream alone costs.
Breakdown per event, from the outbox row (`created_at` = community's transaction start,
`published_at` = the relay's claiming transaction start, both PostgreSQL `now()` on this machine):
before the transaction (gateway, validation, the assets describe RPC), commit → relay wake-up,
relay → subscriber (publish, ack, delivery), and the whole POST as the client sees it.
Goals (issue 18): p50 <= 5 ms, p99 <= 20 ms from POST sent to the subscriber's receipt.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import sys
import time
from typing import Any

import aiohttp
import asyncpg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy, StreamConfig
from PIL import Image

from bench.common import started_stack
from bench.harness import Goal, alternate_async, current, percentile, rounds, show_percentile, spread
from shared.messaging.connection import connect

SUBJECT = "community.work.published"
STREAM = "COMMUNITY"
WARMUP = 20
PATH = "POST /v1/works -> external subscriber has community.work.published"
P50 = Goal("events.user_path_p50", f"{PATH}, p50", "", "<=", 5.0, "ms")
P99 = Goal("events.user_path_p99", f"{PATH}, p99", "", "<=", 20.0, "ms")


class Subscriber:
    """A durable pull consumer, fetching in batches of 10 like the example, resolving waiters."""

    def __init__(self, js: Any, stream: str, subject: str, durable: str, key: Any) -> None:
        self.js, self.stream, self.subject, self.durable, self.key = js, stream, subject, durable, key
        self.waiting: dict[str, asyncio.Future[tuple[float, str]]] = {}
        self.early: dict[str, tuple[float, str]] = {}  # arrived before anyone asked (before the 201)
        self._stop = False

    async def start(self) -> None:
        config = ConsumerConfig(durable_name=self.durable, filter_subject=self.subject,
                                ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.NEW, ack_wait=30)
        self.sub = await self.js.pull_subscribe(self.subject, durable=self.durable, stream=self.stream,
                                                config=config)
        self.task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while not self._stop:
            try:
                msgs = await self.sub.fetch(10, timeout=1.0)
            except (TimeoutError, NatsTimeoutError):
                continue
            for msg in msgs:
                arrived = time.time()
                doc = json.loads(msg.data)
                key, seen = self.key(doc), (arrived, doc.get("id", ""))
                future = self.waiting.get(key)
                if future is None:
                    self.early[key] = seen
                elif not future.done():
                    future.set_result(seen)
                await msg.ack()

    def expect(self, key: str) -> asyncio.Future[tuple[float, str]]:
        future: asyncio.Future[tuple[float, str]] = asyncio.get_running_loop().create_future()
        if key in self.early:
            future.set_result(self.early.pop(key))
        self.waiting[key] = future
        return future

    async def stop(self) -> None:
        self._stop = True
        await self.task
        await self.sub.unsubscribe()


async def signup_with_asset(http: aiohttp.ClientSession) -> tuple[dict[str, str], str]:
    name = "bench_" + secrets.token_hex(4)
    async with http.post("/v1/auth/signup", json={"username": name, "email": f"{name}@example.com",
                                                  "password": "bench password 1"}) as resp:
        assert resp.status == 201, await resp.text()
        auth = {"Authorization": f"Bearer {(await resp.json())['token']}"}
    buf = io.BytesIO()
    Image.frombytes("RGB", (32, 32), secrets.token_bytes(32 * 32 * 3)).save(buf, "PNG")
    async with http.post("/v1/assets", data=buf.getvalue(), headers={**auth, "Content-Type": "image/png"}) as resp:
        assert resp.status == 201, await resp.text()
        return auth, (await resp.json())["id"]


class UserPath:
    def __init__(self, http: aiohttp.ClientSession, auth: dict[str, str], asset_id: str, sub: Subscriber,
                 pool: asyncpg.Pool) -> None:
        self.http, self.auth, self.asset_id, self.sub, self.pool = http, auth, asset_id, sub, pool
        self.rows: list[dict[str, float]] = []

    async def once(self) -> dict[str, float]:
        sent = time.time()
        async with self.http.post("/v1/works", json={"title": "Latency", "asset_ids": [self.asset_id]},
                                  headers=self.auth) as resp:
            body = await resp.read()
            answered = time.time()
            assert resp.status == 201, body[:300]
        work_id = json.loads(body)["id"]
        future = self.sub.expect(work_id)
        arrived, event_id = await asyncio.wait_for(future, 10)
        self.sub.waiting.pop(work_id, None)
        return {"sent": sent, "answered": answered, "arrived": arrived, "event_id": event_id}  # type: ignore[dict-item]

    async def batch(self, n: int) -> list[dict[str, float]]:
        out = [await self.once() for _ in range(n)]
        rows = await self.pool.fetch(
            "SELECT event_id, extract(epoch FROM created_at)::float8 AS created,"
            " extract(epoch FROM published_at)::float8 AS claimed FROM community.outbox WHERE event_id = ANY($1)",
            [o["event_id"] for o in out])
        outbox = {r["event_id"]: r for r in rows}
        for o in out:
            row = outbox.get(o["event_id"])  # type: ignore[call-overload]
            if row is not None and row["claimed"] is not None:
                o.update(created=row["created"], claimed=row["claimed"])
        self.rows += out
        return out


async def floor(js: Any, sub: Subscriber, n: int) -> list[float]:
    """Publish (with Nats-Msg-Id, as the relay does) → the same kind of consumer receives it."""
    out = []
    for _ in range(n):
        key = secrets.token_hex(8)
        future = sub.expect(key)
        sent = time.time()
        await js.publish("bench.floor.work", json.dumps({"id": key}).encode(), headers={"Nats-Msg-Id": key},
                         timeout=5)
        arrived, _ = await asyncio.wait_for(future, 10)
        sub.waiting.pop(key, None)
        out.append(1000 * (arrived - sent))
    return out


async def handler_ms(nc: Any, service: str, endpoint: str) -> tuple[int, float]:
    """(calls, total ms) the service's own handler spent on `endpoint`, from NATS micro STATS."""
    reply = await nc.request(f"$SRV.STATS.{service}", b"", timeout=5)
    for ep in json.loads(reply.data).get("endpoints", []):
        if ep.get("name") == endpoint:
            return int(ep["num_requests"]), int(ep["processing_time"]) / 1e6
    return 0, 0.0


async def run(stack: Any, n: int, n_rounds: int) -> None:
    results = current()
    ep = stack.endpoints
    nc = await connect(ep.nats_url, name="bench-events")
    js = nc.jetstream(timeout=5)
    pool = await asyncpg.create_pool(ep.database_url, min_size=1, max_size=2)
    await js.add_stream(StreamConfig(name="BENCH_FLOOR", subjects=["bench.floor.>"], retention=RetentionPolicy.LIMITS))
    external = Subscriber(js, STREAM, SUBJECT, "bench-external", lambda d: d.get("data", {}).get("work_id"))
    bare = Subscriber(js, "BENCH_FLOOR", "bench.floor.work", "bench-floor", lambda d: d.get("id"))
    await external.start()
    await bare.start()
    per_round = max(1, n // n_rounds)
    try:
        async with aiohttp.ClientSession(base_url=stack.service_urls["gateway"]) as http:
            auth, asset_id = await signup_with_asset(http)
            path = UserPath(http, auth, asset_id, external, pool)
            await path.batch(WARMUP)
            await floor(js, bare, WARMUP)
            path.rows.clear()
            handlers = {"community works.create": ("community", "works-create"),
                        "assets describe": ("assets", "describe")}
            before = {k: await handler_ms(nc, *v) for k, v in handlers.items()}
            samples = await alternate_async(n_rounds, {"user_path": lambda: path.batch(per_round),
                                                       "jetstream_floor": lambda: floor(js, bare, per_round)})
            after = {k: await handler_ms(nc, *v) for k, v in handlers.items()}
    finally:
        await external.stop()
        await bare.stop()
        await pool.close()
        await nc.drain()

    rows = path.rows
    total = [1000 * (r["arrived"] - r["sent"]) for r in rows]
    bare_ms = [ms for batch in samples["jetstream_floor"] for ms in batch]
    round_p50 = [percentile([1000 * (r["arrived"] - r["sent"]) for r in batch], 50) or float("nan")
                 for batch in samples["user_path"]]
    results.figure("events.samples", f"{len(total)} user-path events, {len(bare_ms)} floor, {n_rounds} rounds")
    results.figure("events.user_path.p50_per_round", spread(round_p50), "ms")
    print(f"events.user_path: p50 {show_percentile(total, 50)}, p99 {show_percentile(total, 99)}", flush=True)
    print(f"events.jetstream_floor: p50 {show_percentile(bare_ms, 50)}, p99 {show_percentile(bare_ms, 99)}",
          flush=True)
    parts = {
        "POST as the client sees it (sent -> 201)": [1000 * (r["answered"] - r["sent"]) for r in rows],
        "before community's transaction (gateway, validation, assets RPC)":
            [1000 * (r["created"] - r["sent"]) for r in rows if "created" in r],
        "transaction start -> relay claims the row (commit, NOTIFY, wake-up)":
            [1000 * (r["claimed"] - r["created"]) for r in rows if "claimed" in r],
        "relay claims -> subscriber has it (publish, ack, delivery)":
            [1000 * (r["arrived"] - r["claimed"]) for r in rows if "claimed" in r],
        "201 -> subscriber has it": [1000 * (r["arrived"] - r["answered"]) for r in rows],
    }
    print("events.breakdown (median / p90 ms):", flush=True)
    for label, values in parts.items():
        print(f"  {label}: {show_percentile(values, 50)} / {show_percentile(values, 90)}", flush=True)
    for label, (calls, total_ms) in after.items():  # mean, from the services' own micro stats
        calls_run, ms_run = calls - before[label][0], total_ms - before[label][1]
        results.figure(f"events.handler_mean_ms[{label}]",
                       f"{ms_run / calls_run:.2f} ms over {calls_run} calls" if calls_run else "no calls")
    results.check(P50, percentile(total, 50), note=f"floor p50 {show_percentile(bare_ms, 50)}")
    results.check(P99, percentile(total, 99), note=f"n={len(total)}")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    os.environ.setdefault("ATELIER_RATE_LIMIT_ENABLED", "false")  # one user posts n works back to back
    os.environ.setdefault("ATELIER_LOG_LEVEL", "warning")
    with started_stack(services=["community", "assets", "gateway"]) as stack:
        asyncio.run(run(stack, n, rounds(4)))


if __name__ == "__main__":
    main()
