"""A durable pull consumer loop for jobs and events.

The handler gets the parsed envelope. Outcomes:
- returns                → `ack()` (after the handler committed its work);
- raises `Retry(delay)`  → `nak(delay)`: redelivered later (transient failure);
- raises `Poison`        → `term()`: never redelivered (the message can never succeed);
- raises anything else   → `nak()` with backoff, until `max_deliver`; then the server emits a
  MAX_DELIVERIES advisory and `on_dead_letter` is called with the event (mark the job failed).
While the handler runs, `in_progress()` heartbeats (every third of `ack_wait_s`) keep the ack
deadline from expiring, so `ack_wait_s` can be short: a worker that dies has its message
redelivered to another one within seconds, not after a long fixed wait.
Consumers are idempotent by event id: the handler must tolerate seeing an event twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import ServiceUnavailableError

from shared.contracts.events.envelope import CloudEvent, parse_event
from shared.logging import bound_context, get_logger
from shared.messaging.streams import EVENT_STREAMS

log = get_logger(__name__)
START_RETRY_S = 30.0  # how long a consumer's start waits for JetStream to answer (see start)


class Retry(Exception):
    """Transient failure: try this message again after `delay_s`."""

    def __init__(self, reason: str, delay_s: float = 2.0) -> None:
        super().__init__(reason)
        self.delay_s = delay_s


class Poison(Exception):
    """This message can never be processed: drop it for good."""


EventHandler = Callable[[CloudEvent, Msg], Awaitable[None]]
DeadLetterHandler = Callable[[CloudEvent], Awaitable[None]]


@dataclass(frozen=True)
class ConsumerSpec:
    stream: str
    durable: str
    filter_subject: str
    ack_wait_s: float = 10.0  # short on purpose: heartbeats keep a running handler's delivery alive
    max_deliver: int = 5
    batch: int = 1
    max_ack_pending: int = 100
    backoff_base_s: float = 1.0
    # Several subjects for one consumer (JetStream ≥ 2.10); when set, `filter_subject` is ignored.
    filter_subjects: tuple[str, ...] = ()


class JetStreamConsumer:
    def __init__(
        self,
        nc: NATS,
        js: JetStreamContext,
        spec: ConsumerSpec,
        handler: EventHandler,
        *,
        on_dead_letter: DeadLetterHandler | None = None,
    ) -> None:
        self._nc = nc
        self._js = js
        self.spec = spec
        self._handler = handler
        self._on_dead_letter = on_dead_letter
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._advisory_sub: Subscription | None = None

    async def start(self, ready_within_s: float = START_RETRY_S) -> None:
        spec = self.spec
        config = ConsumerConfig(
            durable_name=spec.durable,
            filter_subject=None if spec.filter_subjects else spec.filter_subject,
            filter_subjects=list(spec.filter_subjects) or None,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=spec.ack_wait_s,
            max_deliver=spec.max_deliver,
            max_ack_pending=spec.max_ack_pending,
        )
        # A service that starts while a NATS cluster elects its JetStream leader (a node just
        # restarted) sees the API time out or answer 503 for a few seconds: retry, then give up.
        deadline = asyncio.get_running_loop().time() + ready_within_s
        while True:
            try:
                await self._js.add_consumer(spec.stream, config)
                break
            except (NatsTimeoutError, ServiceUnavailableError) as exc:
                if asyncio.get_running_loop().time() >= deadline:
                    raise
                log.warning("consumer.start_retry", durable=spec.durable, error=type(exc).__name__)
                await asyncio.sleep(0.5)
        self._sub = await self._js.pull_subscribe_bind(spec.durable, stream=spec.stream)
        if self._on_dead_letter is not None:
            subject = f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{spec.stream}.{spec.durable}"
            self._advisory_sub = await self._nc.subscribe(subject, queue=f"dlq-{spec.durable}", cb=self._dead_letter)
        self._task = asyncio.create_task(self._run(), name=f"consumer:{spec.durable}")

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop fetching, let the message in flight finish (up to `timeout_s`), then unsubscribe."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if self._advisory_sub is not None:
            with contextlib.suppress(Exception):
                await self._advisory_sub.unsubscribe()
        with contextlib.suppress(Exception):
            await self._sub.unsubscribe()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                msgs = await self._sub.fetch(self.spec.batch, timeout=1.0)
            except (TimeoutError, NatsTimeoutError):
                continue
            except Exception as exc:  # connection trouble: back off and keep going
                log.warning("consumer.fetch_failed", durable=self.spec.durable, error=str(exc))
                await asyncio.sleep(1.0)
                continue
            for msg in msgs:
                await self._process(msg)

    async def _process(self, msg: Msg) -> None:
        try:
            event = parse_event(msg.data)
        except Exception as exc:
            log.error("consumer.poison.unparseable", durable=self.spec.durable, error=str(exc)[:200])
            await msg.term()
            return
        with bound_context(event_id=event.id, correlation_id=event.correlationid or event.id,
                           causation_id=event.id):
            heartbeat = _Heartbeat(msg, heartbeat_interval(self.spec.ack_wait_s))
            try:
                await self._handler(event, msg)
            except Retry as exc:
                log.info("consumer.retry", reason=str(exc), delay_s=exc.delay_s)
                await msg.nak(delay=exc.delay_s)
            except Poison as exc:
                log.error("consumer.poison", reason=str(exc))
                await msg.term()
            except Exception:
                delivered = msg.metadata.num_delivered if msg.metadata else 1
                log.exception("consumer.handler_failed", delivered=delivered)
                await msg.nak(delay=self.spec.backoff_base_s * 2 ** min(delivered - 1, 6))
            else:
                await msg.ack()
            finally:
                heartbeat.cancel()

    async def _dead_letter(self, advisory: Msg) -> None:
        assert self._on_dead_letter is not None
        try:
            seq = int(json.loads(advisory.data)["stream_seq"])
            raw = await self._js.get_msg(self.spec.stream, seq)
            event = parse_event(raw.data or b"")
            await self._on_dead_letter(event)
            # Work-queue streams keep unacked messages forever: drop the dead one. An event stream's
            # message is every consumer's history: it stays.
            if self.spec.stream not in EVENT_STREAMS:
                await self._js.delete_msg(self.spec.stream, seq)
        except Exception:
            log.exception("consumer.dead_letter_failed", durable=self.spec.durable)


def heartbeat_interval(ack_wait_s: float) -> float:
    """How often a running handler tells JetStream it is alive: three beats per ack wait, so one
    lost beat does not cost the delivery."""
    return max(ack_wait_s / 3, 0.5)


class _Heartbeat:
    """Sends `in_progress()` every `interval_s` while a handler runs; a timer, not a task, so a
    message handled quickly costs nothing."""

    def __init__(self, msg: Msg, interval_s: float) -> None:
        self._msg = msg
        self._interval_s = interval_s
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = self._loop.call_later(interval_s, self._beat)
        self._pending: set[asyncio.Task[None]] = set()

    def _beat(self) -> None:
        task = self._loop.create_task(self._send())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        self._timer = self._loop.call_later(self._interval_s, self._beat)

    async def _send(self) -> None:
        with contextlib.suppress(Exception):
            await self._msg.in_progress()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
