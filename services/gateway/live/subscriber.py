"""One WebSocket client's subscription: what it may see, where it is in each stream, and its
bounded queue of frames waiting to be sent.

Handover from replay to live without gaps or duplicates: the subscriber is registered with the hub
*before* the end of each stream is read, and live events arriving during the replay are held in
`pending`; after the replay, the held events are delivered and any already replayed is dropped by
its sequence (`positions` only grow).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from services.gateway.live.cursor import encode_cursor
from services.gateway.live.visibility import EventInfo, channel_for, frame

SLOW_CLIENT_CLOSE = 4008


class Overflow(Exception):
    """The client does not read fast enough: its bounded queue is full."""


class Subscriber:
    def __init__(
        self,
        user_id: str,
        *,
        queue_max: int,
        catchup_max: int,
        on_close: Callable[[int, str], None],
    ) -> None:
        self.user_id = user_id
        self.channels: frozenset[str] = frozenset()
        self.followees: set[str] = set()
        self.positions: dict[str, int] = {}
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_max)
        self.pending: list[EventInfo] | None = []  # a list while replaying, None once live
        self.sent = 0
        self.closing = False
        self._catchup_max = catchup_max
        self._on_close = on_close

    # -- live delivery (called synchronously by the hub for every event) ------------------------

    def offer(self, info: EventInfo) -> None:
        if self.closing:
            return
        if self.pending is not None:
            if len(self.pending) >= self._catchup_max:
                self.close(SLOW_CLIENT_CLOSE, "too many events arrived while replaying: reconnect with `since`")
            else:
                self.pending.append(info)
            return
        try:
            self._deliver(info)
        except Overflow:
            self.close(SLOW_CLIENT_CLOSE, f"client too slow: more than {self.queue.maxsize} events queued")

    def go_live(self) -> None:
        """Deliver what arrived during the replay, then take events straight from the hub."""
        held, self.pending = self.pending or [], None
        for info in held:
            self.offer(info)

    # -- replay (awaits room in the queue: a slow reader slows its own replay) ------------------

    async def replay(self, info: EventInfo) -> None:
        if not self.closing:
            await self._deliver_async(info)

    # -- control frames -------------------------------------------------------------------------

    def send_control(self, doc: dict[str, Any]) -> None:
        """Protocol frames (acks, errors, notices); a client that cannot take them is cut off."""
        if self.closing:
            return
        try:
            self.queue.put_nowait(json.dumps(doc, separators=(",", ":")))
        except asyncio.QueueFull:
            self.close(SLOW_CLIENT_CLOSE, f"client too slow: more than {self.queue.maxsize} frames queued")

    def cursor(self) -> str:
        return encode_cursor(self.positions)

    def close(self, code: int, reason: str) -> None:
        if not self.closing:
            self.closing = True
            self._on_close(code, reason)

    # -- internals ------------------------------------------------------------------------------

    def _visible(self, info: EventInfo) -> str | None:
        """Advance the position; returns the channel if the event goes out, else None."""
        if info.seq <= self.positions.get(info.stream, 0):
            return None  # already seen (replayed, or delivered before a reset)
        self.positions[info.stream] = info.seq
        if info.follower_id == self.user_id and info.followee_id and info.unfollowed:
            self.followees.discard(info.followee_id)
        elif info.follower_id == self.user_id and info.followee_id:
            self.followees.add(info.followee_id)
        return channel_for(info, self.user_id, self.channels, self.followees)

    def _deliver(self, info: EventInfo) -> None:
        channel = self._visible(info)
        if channel is None:
            return
        try:
            self.queue.put_nowait(frame(info, self.cursor(), channel))
        except asyncio.QueueFull:
            raise Overflow from None
        self.sent += 1

    async def _deliver_async(self, info: EventInfo) -> None:
        channel = self._visible(info)
        if channel is not None:
            await self.queue.put(frame(info, self.cursor(), channel))
            self.sent += 1
