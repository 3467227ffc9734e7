"""Reading what the JetStream streams hold, to their end, without guessing the end from a pause
between messages (a stalled test process would cut such a read short)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
from nats.js.api import ConsumerConfig, DeliverPolicy


async def stored_events(js: Any, subject: str, *, timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """Every event on `subject` (wildcards allowed) that its stream holds when this is called, in
    stream order, duplicates included.

    Reads with an ordered consumer until the stream's last sequence at the start of the call (or
    until the consumer reports nothing more pending on the subject), however slowly the messages
    come; fails if that takes longer than `timeout_s`."""
    stream = await js.find_stream_name_by_subject(subject)
    state = (await js.stream_info(stream, subjects_filter=subject)).state
    if not sum((state.subjects or {}).values()):
        return []
    last_seq = state.last_seq
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    sub = await js.subscribe(subject, ordered_consumer=True,
                             config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL))
    events: list[dict[str, Any]] = []
    try:
        while True:
            remaining = deadline - loop.time()
            try:
                msg = await sub.next_msg(timeout=max(remaining, 0.01))
            except TimeoutError:
                raise AssertionError(f"read {len(events)} events of {subject} in {timeout_s} s without reaching "
                                     f"sequence {last_seq} of {stream}") from None
            events.append(json.loads(msg.data))
            if msg.metadata.sequence.stream >= last_seq or msg.metadata.num_pending == 0:
                return events
    finally:
        await sub.unsubscribe()


async def wait_outbox_relayed(database_url: str, schema: str, *, timeout_s: float = 30.0) -> None:
    """Wait until `schema`'s transactional outbox has published everything committed so far, so
    the events of changes already visible through the service's API are on the stream."""
    conn = await asyncpg.connect(database_url)
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL"):
            assert asyncio.get_running_loop().time() < deadline, f"the {schema} outbox was not relayed in time"
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
