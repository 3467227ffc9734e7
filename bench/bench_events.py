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

from bench.common import embedded_stack, report, summarize_ms
from shared.contracts.events import make_event
from shared.contracts.events.catalog import GenerateJob
from shared.messaging.connection import connect
from shared.messaging.consumer import ConsumerSpec, JetStreamConsumer
from shared.messaging.publisher import publish_event

WARMUP = 50


async def measure_shared(nc, js, n: int, suffix: str = "", *, dedupe: bool = True) -> list[float]:  # type: ignore[no-untyped-def]
    """The shared consumer; with `dedupe`, publishes carry `Nats-Msg-Id` as the shared publishers'
    do (exactly-once storage costs the server a duplicate-window lookup per message)."""
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
        body, headers = event.to_json(), ({"Nats-Msg-Id": event.id} if dedupe else None)
        arrived.clear()
        start = time.perf_counter()
        # publish_event uses the event's own subject; route it to the bench stream instead.
        await js.publish(f"bench.shared{suffix}.job", body, headers=headers, timeout=5)
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
    """Rounds alternate the variants so all of them see the same background load."""
    nc = await connect(nats_url, name="bench-events")
    js = nc.jetstream(timeout=5)
    samples: dict[str, list[float]] = {"raw_nats_py": [], "shared_consumer": [], "shared_with_dedupe": []}
    try:
        for r in range(rounds):
            samples["raw_nats_py"] += await measure_raw(js, n // rounds, suffix=str(r))
            samples["shared_consumer"] += await measure_shared(nc, js, n // rounds, suffix=f"c{r}", dedupe=False)
            samples["shared_with_dedupe"] += await measure_shared(nc, js, n // rounds, suffix=f"d{r}")
        await js.add_stream(StreamConfig(name="BENCH_PUB", subjects=["jobs.>"], retention=RetentionPolicy.LIMITS))
        samples["publish_event_only"] = await measure_shared_publisher(js, n // rounds)
    finally:
        await nc.drain()
    stats = {name: summarize_ms(s) for name, s in samples.items()}
    report("events.messages", str(len(samples["raw_nats_py"])))
    for name, figures in stats.items():
        report(f"events.{name}.p50", figures["p50_ms"], "ms")
        report(f"events.{name}.p99", figures["p99_ms"], "ms")
    raw = stats["raw_nats_py"]
    # The consumer validates every envelope against the registry and binds the log context: a
    # few tens of microseconds per message, which the ratio shows next to the raw loop.
    report("events.consumer_overhead.p50_ratio (raw/shared consumer, 1.0 = none)",
           raw["p50_ms"] / stats["shared_consumer"]["p50_ms"])
    report("events.with_dedupe.p50_ratio (raw/shared with Nats-Msg-Id)",
           raw["p50_ms"] / stats["shared_with_dedupe"]["p50_ms"])
    report("events.with_dedupe.p99_ratio (raw/shared with Nats-Msg-Id)",
           raw["p99_ms"] / stats["shared_with_dedupe"]["p99_ms"])


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with embedded_stack() as (endpoints, _):
        asyncio.run(run(endpoints.nats_url, n))  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
