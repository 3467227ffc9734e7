"""Event publish → consume latency: the shared helpers vs raw nats-py, same server, same run.

Each message is published only after the previous one arrived, so the figures are per-message
latency (publish ack + pull fetch + delivery), not throughput.
    python -m bench.bench_events [N]
"""

from __future__ import annotations

import asyncio
import sys
import time

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StreamConfig

from bench.common import embedded_stack, report, summarize_ms, verdict
from shared.events import make_event
from shared.events.catalog import GenerateJob
from shared.messaging.connection import connect
from shared.messaging.consumer import ConsumerSpec, JetStreamConsumer
from shared.messaging.publisher import publish_event

WARMUP = 50


async def measure_shared(nc, js, n: int, suffix: str = "") -> list[float]:  # type: ignore[no-untyped-def]
    stream = f"BENCH_SHARED{suffix}"
    await js.add_stream(StreamConfig(name=stream, subjects=[f"bench.shared{suffix}.>"],
                                     retention=RetentionPolicy.WORK_QUEUE))
    arrived = asyncio.Event()

    async def handle(event, msg) -> None:  # type: ignore[no-untyped-def]
        arrived.set()

    consumer = JetStreamConsumer(nc, js, ConsumerSpec(stream, "bench", f"bench.shared{suffix}.>"), handle)
    await consumer.start()
    latencies = []
    for i in range(n + WARMUP):
        event = make_event(GenerateJob(generation_id=str(i), owner_id="o"), service="bench", subject_id=str(i))
        arrived.clear()
        start = time.perf_counter()
        # publish_event uses the event's own subject; route it to the bench stream instead.
        await js.publish(f"bench.shared{suffix}.job", event.to_json(), headers={"Nats-Msg-Id": event.id}, timeout=5)
        await arrived.wait()
        if i >= WARMUP:
            latencies.append(time.perf_counter() - start)
    await consumer.stop()
    return latencies


async def measure_shared_publisher(js, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Publish-side cost of publish_event (envelope + dedupe header) alone, for reference."""
    latencies = []
    for i in range(n):
        event = make_event(GenerateJob(generation_id=str(i), owner_id="o"), service="bench", subject_id=str(i))
        start = time.perf_counter()
        await publish_event(js, event, timeout=5)
        latencies.append(time.perf_counter() - start)
    return latencies


async def measure_raw(js, n: int, suffix: str = "") -> list[float]:  # type: ignore[no-untyped-def]
    """The same shape with plain nats-py: a consumer task that fetches, signals, acks."""
    stream = f"BENCH_RAW{suffix}"
    await js.add_stream(StreamConfig(name=stream, subjects=[f"bench.raw{suffix}.>"],
                                     retention=RetentionPolicy.WORK_QUEUE))
    await js.add_consumer(stream, ConsumerConfig(durable_name="raw", ack_policy=AckPolicy.EXPLICIT))
    sub = await js.pull_subscribe_bind("raw", stream=stream)
    payload = make_event(GenerateJob(generation_id="x", owner_id="o"), service="bench", subject_id="x").to_json()
    arrived = asyncio.Event()
    stopping = False

    async def consume() -> None:
        while not stopping:
            try:
                msgs = await sub.fetch(1, timeout=1.0)
            except (TimeoutError, NatsTimeoutError):
                continue
            for msg in msgs:
                arrived.set()
                await msg.ack()

    task = asyncio.create_task(consume())
    latencies = []
    for i in range(n + WARMUP):
        arrived.clear()
        start = time.perf_counter()
        await js.publish(f"bench.raw{suffix}.job", payload, timeout=5)
        await arrived.wait()
        if i >= WARMUP:
            latencies.append(time.perf_counter() - start)
    stopping = True
    await task
    return latencies


async def run(nats_url: str, n: int, rounds: int = 4) -> None:
    """Rounds alternate raw and shared so both see the same background load."""
    nc = await connect(nats_url, name="bench-events")
    js = nc.jetstream(timeout=5)
    raw_s: list[float] = []
    shared_s: list[float] = []
    try:
        for r in range(rounds):
            raw_s += await measure_raw(js, n // rounds, suffix=str(r))
            shared_s += await measure_shared(nc, js, n // rounds, suffix=str(r))
        await js.add_stream(StreamConfig(name="BENCH_PUB", subjects=["jobs.>"], retention=RetentionPolicy.LIMITS))
        pub = summarize_ms(await measure_shared_publisher(js, n // rounds))
    finally:
        await nc.drain()
    raw, shared = summarize_ms(raw_s), summarize_ms(shared_s)
    report("events.messages", str(len(raw_s)))
    for name, stats in (("raw_nats_py", raw), ("shared_helpers", shared), ("publish_event_only", pub)):
        report(f"events.{name}.p50", stats["p50_ms"], "ms")
        report(f"events.{name}.p99", stats["p99_ms"], "ms")
    verdict("events.shared_vs_raw.p50_ratio (raw/shared, 1.0 = no overhead)", raw["p50_ms"] / shared["p50_ms"],
            at_least=0.8)
    report("events.shared_vs_raw.p99_ratio (raw/shared)", raw["p99_ms"] / shared["p99_ms"])


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with embedded_stack() as (endpoints, _):
        asyncio.run(run(endpoints.nats_url, n))  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
