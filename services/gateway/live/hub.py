"""The hub: one ordered JetStream consumer per event stream and gateway process, fanned out to
every connected subscriber, plus the catch-up replay a reconnecting client asks for with `since`.

One tail per stream (not per connection) keeps a thousand clients at three server-side consumers;
an ordered consumer delivers each stream in sequence order and re-creates itself from the last
sequence after a gap or reconnect, so the hub never skips an event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from prometheus_client import Counter, Gauge

from services.gateway.live.cursor import LIVE_STREAMS
from services.gateway.live.subscriber import Subscriber
from services.gateway.live.visibility import EventInfo, describe
from services.gateway.live.work_states import WorkStates
from shared.ids import new_id
from shared.logging import get_logger
from shared.messaging.replay import replay, replay_config
from shared.messaging.streams import EVENT_STREAMS

log = get_logger(__name__)

WS_CONNECTIONS = Gauge("atelier_ws_connections", "Open WebSocket event connections")
WS_EVENTS = Counter("atelier_ws_events_total", "Events read from the streams by the hub", ["stream"])
REPLAY_BATCH = 256


class Hub:
    def __init__(self, js: JetStreamContext, *, streams: tuple[str, ...] = LIVE_STREAMS,
                 timeout_s: float = 5.0) -> None:
        self._js = js
        self.streams = streams
        self._timeout_s = timeout_s
        self.subscribers: set[Subscriber] = set()
        self._subs: list[object] = []
        self._seeding: asyncio.Task[None] | None = None
        self.last_seq: dict[str, int] = {}
        self.works = WorkStates()  # latest visibility per work: replays re-check what they send

    async def start(self) -> None:
        if "COMMUNITY" in self.streams:
            self._seeding = asyncio.create_task(self.works.seed(self._js, self._timeout_s))
        else:
            self.works.seeded.set()
        for stream in self.streams:
            sub = await self._js.subscribe(
                EVENT_STREAMS[stream], stream=stream, ordered_consumer=True,
                deliver_policy=DeliverPolicy.NEW, cb=self._on_message(stream),
                idle_heartbeat=5.0, pending_msgs_limit=100_000,
            )
            self._subs.append(sub)
        log.info("gateway.live.started", streams=list(self.streams))

    async def stop(self) -> None:
        if self._seeding is not None:
            self._seeding.cancel()
            with contextlib.suppress(BaseException):
                await self._seeding
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()  # type: ignore[attr-defined]
        self._subs.clear()

    def _on_message(self, stream: str) -> Callable[[Msg], Awaitable[None]]:
        async def handle(msg: Msg) -> None:
            seq = msg.metadata.sequence.stream
            self.last_seq[stream] = seq
            WS_EVENTS.labels(stream).inc()
            if stream == "COMMUNITY":
                self.works.note(seq, msg.subject, msg.data)
            self.dispatch(describe(stream, seq, msg.data))

        return handle

    def dispatch(self, info: EventInfo) -> None:
        for subscriber in list(self.subscribers):
            subscriber.offer(info)

    def add(self, subscriber: Subscriber) -> None:
        self.subscribers.add(subscriber)
        WS_CONNECTIONS.set(len(self.subscribers))

    def remove(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        WS_CONNECTIONS.set(len(self.subscribers))

    # -- catch-up ---------------------------------------------------------------------------------

    async def stream_bounds(self, stream: str) -> tuple[int, int]:
        """(first, last) sequence stored in `stream` right now."""
        info = await self._js.stream_info(stream)
        return int(info.state.first_seq or 0), int(info.state.last_seq or 0)

    async def replay(self, stream: str, start_seq: int, end_seq: int,
                     deliver: Callable[[EventInfo], Awaitable[None]]) -> int:
        """Feed `deliver` every event of `stream` with start_seq <= seq <= end_seq, in order."""
        if start_seq > end_seq:
            return 0
        if stream == "COMMUNITY":  # what a replay sends is checked against the newest work states
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.works.seeded.wait(), self._timeout_s * 2)
        config = replay_config(f"ws-replay-{new_id().lower()}", deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                               opt_start_seq=start_seq, filter_subject=EVENT_STREAMS[stream])

        async def handle(msg: Msg) -> None:
            await deliver(self.works.recheck(describe(stream, msg.metadata.sequence.stream, msg.data)))

        return await replay(self._js, stream, config, end_seq, self._timeout_s, handle, batch=REPLAY_BATCH)
