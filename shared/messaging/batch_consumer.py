"""A durable pull consumer that hands its handler every message a fetch brought, at once.

For jobs whose cost is mostly fixed per call (one runtime call, one store call, one transaction
for many jobs): the loop fetches up to `spec.batch` messages — what is there now, plus what
arrives within `linger_s` when the first fetch was not full — and the handler answers one outcome
per message, in order, which settles it exactly as `JetStreamConsumer` settles a single one:
None → ack, `Retry` → nak(delay), `Poison` → term, another exception → nak with backoff (dead-
lettered after max_deliver). Every message in the batch is heartbeated while the handler runs. An
exception raised by the handler itself settles every message of the batch with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext

from shared.contracts.events.envelope import CloudEvent, parse_event
from shared.logging import get_logger
from shared.messaging.consumer import (
    ConsumerSpec,
    DeadLetterHandler,
    JetStreamConsumer,
    Poison,
    Retry,
    _Heartbeat,
)

log = get_logger(__name__)
Outcome = BaseException | None
BatchHandler = Callable[[list[tuple[CloudEvent, Msg]]], Awaitable[list[Outcome]]]


class BatchJetStreamConsumer(JetStreamConsumer):
    def __init__(self, nc: NATS, js: JetStreamContext, spec: ConsumerSpec, handler: BatchHandler, *,
                 on_dead_letter: DeadLetterHandler | None = None, linger_s: float = 0.0,
                 weight: Callable[[bytes], int] | None = None, max_weight: int | None = None) -> None:
        """`weight(data)` / `max_weight`: a batch also stops growing once the weights of its messages
        (e.g. images asked for) reach `max_weight`; it is then taken one message at a time, so no
        message is fetched (and held) beyond what the batch can start on."""
        super().__init__(nc, js, spec, _no_single_handler, on_dead_letter=on_dead_letter)
        self._batch_handler = handler
        self._linger_s = linger_s
        self._weight = weight
        self._max_weight = max_weight

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                msgs = await self._fetch_batch()
            except (TimeoutError, NatsTimeoutError):
                continue
            except Exception as exc:  # connection trouble: back off and keep going
                log.warning("consumer.fetch_failed", durable=self.spec.durable, error=str(exc))
                await asyncio.sleep(1.0)
                continue
            await self._process_batch(msgs)

    async def _fetch_batch(self) -> list[Msg]:
        if self._weight is None or self._max_weight is None:
            msgs: list[Msg] = await self._sub.fetch(self.spec.batch, timeout=1.0)
            if len(msgs) < self.spec.batch and self._linger_s > 0:
                await asyncio.sleep(self._linger_s)
                msgs += await self._more(self.spec.batch - len(msgs))
            return msgs
        msgs = await self._sub.fetch(1, timeout=1.0)
        weight = sum(self._weight(m.data) for m in msgs)
        lingered = False
        while len(msgs) < self.spec.batch and weight < self._max_weight:
            more = await self._more(1)
            if not more:
                if lingered or self._linger_s <= 0:
                    break
                lingered = True
                await asyncio.sleep(self._linger_s)
                continue
            msgs += more
            weight += self._weight(more[0].data)
        return msgs

    async def _more(self, wanted: int) -> list[Msg]:
        try:
            return await self._sub.fetch(wanted, timeout=0.05)
        except (TimeoutError, NatsTimeoutError):
            return []

    async def _process_batch(self, msgs: list[Msg]) -> None:
        items: list[tuple[CloudEvent, Msg]] = []
        for msg in msgs:
            try:
                items.append((parse_event(msg.data), msg))
            except Exception as exc:
                log.error("consumer.poison.unparseable", durable=self.spec.durable, error=str(exc)[:200])
                await msg.term()
        if not items:
            return
        beats = [_Heartbeat(msg, max(self.spec.ack_wait_s / 3, 0.5)) for _, msg in items]
        try:
            try:
                outcomes = await self._batch_handler(items)
                if len(outcomes) != len(items):
                    raise RuntimeError(f"the handler answered {len(outcomes)} outcomes for {len(items)} messages")
            except Exception as exc:
                log.exception("consumer.batch_failed", messages=len(items))
                outcomes = [exc] * len(items)
            await asyncio.gather(*(self._settle(msg, outcome) for (_, msg), outcome in
                                   zip(items, outcomes, strict=True)))
        finally:
            for beat in beats:
                beat.cancel()

    async def _settle(self, msg: Msg, outcome: Outcome) -> None:
        try:
            if outcome is None:
                await msg.ack()
            elif isinstance(outcome, Retry):
                log.info("consumer.retry", reason=str(outcome), delay_s=outcome.delay_s)
                await msg.nak(delay=outcome.delay_s)
            elif isinstance(outcome, Poison):
                log.error("consumer.poison", reason=str(outcome))
                await msg.term()
            else:
                delivered = msg.metadata.num_delivered if msg.metadata else 1
                log.warning("consumer.handler_failed", delivered=delivered, error=repr(outcome)[:300])
                await msg.nak(delay=self.spec.backoff_base_s * 2 ** min(delivered - 1, 6))
        except Exception as exc:  # the server redelivers after ack_wait; the job is idempotent
            log.warning("consumer.settle_failed", error=str(exc))


async def _no_single_handler(event: CloudEvent, msg: Msg) -> None:
    raise RuntimeError("a batch consumer handles batches only")
