"""Read a stored range of a JetStream stream once, in order: an ephemeral pull consumer (no acks,
in memory, removed afterwards) hands each message up to `end_seq` to a handler. What the gateway
uses to catch up before it tails a stream live (WebSocket resume, the revocation list)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

INACTIVE_S = 30.0  # a consumer left behind by a crash removes itself after this long


def replay_config(name: str, **selection: object) -> ConsumerConfig:
    """An ephemeral, unacknowledged, in-memory consumer: `selection` says where it starts and
    which subjects it reads (deliver_policy, opt_start_seq, filter_subject(s))."""
    return ConsumerConfig(name=name, ack_policy=AckPolicy.NONE, inactive_threshold=INACTIVE_S, mem_storage=True,
                          num_replicas=1, **selection)  # type: ignore[arg-type]


async def replay(js: JetStreamContext, stream: str, config: ConsumerConfig, end_seq: int, timeout_s: float,
                 handle: Callable[[Msg], Awaitable[None]], batch: int = 256) -> int:
    """Hand `handle` every message the consumer selects with sequence <= end_seq, in order; returns
    how many. Stops early when the stream holds nothing more (messages deleted at the range's end)."""
    assert config.name
    created = await js.add_consumer(stream, config)
    count = 0
    sub = None
    try:
        if not created.num_pending:
            return 0
        sub = await js.pull_subscribe_bind(config.name, stream=stream)
        while True:
            try:
                msgs = await sub.fetch(batch, timeout=timeout_s)
            except (NatsTimeoutError, TimeoutError):  # nats-py raises either
                return count
            for msg in msgs:
                seq = msg.metadata.sequence.stream
                if seq > end_seq:
                    return count  # the live tail delivers it
                await handle(msg)
                count += 1
                if seq >= end_seq or msg.metadata.num_pending == 0:
                    return count
    finally:
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(js.delete_consumer(stream, config.name), timeout_s)
