"""The protocol of one `/v1/events` WebSocket connection.

Client → server (text frames, JSON):
    {"subscribe": ["me", "feed", "public"], "since": "<sequence>"?}   once per connection
    {"ping": <anything>}                                               → {"pong": <same>}
Server → client:
    CloudEvents (JSON) with extension attributes `sequence` (resume cursor) and `channel`;
    {"subscribed": [...], "sequence": "<cursor>"} once the replay from `since` is done and live
    events follow; {"notice": {"code", "message"}}; {"error": {"code", "message"}} for a bad frame
    (the connection stays open).
Close codes: 1001 server shutting down; 4001 token expired; 4401 token revoked (the account was
deleted or its password changed: sign in again, do not retry with this token); 4008 client too slow
(bounded queue overflowed: reconnect with `since`); 1011 the event streams could not be read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import WSMsgType, web
from nats.aio.client import Client as NATS

from services.gateway.live.cursor import LIVE_STREAMS, BadCursor, decode_cursor
from services.gateway.live.hub import Hub
from services.gateway.live.subscriber import Subscriber
from services.gateway.live.visibility import CHANNELS
from services.gateway.settings import GatewaySettings
from shared import safejson
from shared.contracts.community import USERS_FOLLOWEES
from shared.errors import AtelierError, BadRequest
from shared.logging import get_logger
from shared.messaging.rpc import call_raw

log = get_logger(__name__)


def followee_ids(reply: Any) -> set[str]:
    """The ids in a `users.followees` answer ({"user_ids": [...]} by the contract); also accepts a
    list, or {followees|items: [...]} of ids or {id|user_id} objects."""
    items = reply
    if isinstance(reply, dict):
        items = reply.get("user_ids") or reply.get("followees") or reply.get("items") or []
    ids = set()
    for item in items if isinstance(items, list) else []:
        if isinstance(item, str):
            ids.add(item)
        elif isinstance(item, dict) and isinstance(item.get("id") or item.get("user_id"), str):
            ids.add(item.get("id") or item["user_id"])
    return ids


class EventsConnection:
    def __init__(self, request: web.Request, ws: web.WebSocketResponse, user_id: str, *, hub: Hub,
                 nc: NATS, settings: GatewaySettings, issued_ms: int = 0) -> None:
        self._request = request
        self.issued_ms = issued_ms  # of the token it was opened with (revocations compare it)
        self._ws = ws
        self._hub = hub
        self._nc = nc
        self._settings = settings
        self.subscriber = Subscriber(user_id, queue_max=settings.ws_send_queue_max,
                                     catchup_max=settings.ws_catchup_buffer_max,
                                     on_close=self.request_close)
        self._close: tuple[int, str] | None = None
        self._close_requested = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self.finished = asyncio.Event()

    def request_close(self, code: int, reason: str) -> None:
        if self._close is None:
            self._close = (code, reason)
            self.subscriber.closing = True
            self._close_requested.set()

    async def run(self) -> None:
        reader = asyncio.create_task(self._read())
        writer = asyncio.create_task(self._write())
        closer = asyncio.create_task(self._close_requested.wait())
        try:
            await asyncio.wait({reader, writer, closer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._hub.remove(self.subscriber)
            for task in (writer, closer, *self._tasks):
                task.cancel()
            if self._close is not None and not self._ws.closed:
                await self._send_close(*self._close)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(reader, self._settings.ws_close_timeout_s)
            self.finished.set()

    async def _send_close(self, code: int, reason: str) -> None:
        log.info("gateway.live.closing", code=code, reason=reason, user_id=self.subscriber.user_id)
        try:
            await asyncio.wait_for(self._ws.close(code=code, message=reason.encode()[:120]),
                                   self._settings.ws_close_timeout_s)
        except (TimeoutError, ConnectionError):
            # The client does not read: the close frame is queued; let the transport flush what it
            # can and drop the connection for good later, so its buffers are bounded in time too.
            transport = self._request.transport
            if transport is not None:
                transport.close()
                asyncio.get_running_loop().call_later(30.0, transport.abort)

    async def _write(self) -> None:
        queue = self.subscriber.queue
        while True:
            text = await queue.get()
            await self._ws.send_str(text)

    async def _read(self) -> None:
        async for msg in self._ws:
            if msg.type == WSMsgType.TEXT:
                self._handle(msg.data)
            elif msg.type == WSMsgType.BINARY:
                self._error("bad-frame", "binary frames are not supported: send JSON text")
            elif msg.type == WSMsgType.ERROR:
                return

    def _error(self, code: str, message: str) -> None:
        self.subscriber.send_control({"error": {"code": code, "message": message}})

    def _handle(self, text: str) -> None:
        try:
            doc = safejson.loads(text)  # depth-checked first: a deeply nested frame is refused, not recursed
        except BadRequest as exc:
            return self._error("bad-json", f"frames must be JSON objects: {exc.detail}")
        if not isinstance(doc, dict):
            return self._error("bad-frame", "frames must be JSON objects")
        if "ping" in doc:
            return self.subscriber.send_control({"pong": doc["ping"]})
        if "subscribe" not in doc:
            return self._error("unknown-frame", 'expected {"subscribe": [...], "since": ...} or {"ping": ...}')
        channels = doc["subscribe"]
        if not isinstance(channels, list) or not channels or not all(isinstance(c, str) for c in channels):
            return self._error("bad-subscription", f"`subscribe` must be a non-empty list of {list(CHANNELS)}")
        unknown = [c for c in channels if c not in CHANNELS]
        if unknown:
            return self._error("unknown-channel", f"unknown channel(s) {unknown}; available: {list(CHANNELS)}")
        if self.subscriber.channels:
            return self._error("already-subscribed", "this connection is subscribed already; open another one")
        since = doc.get("since")
        try:
            positions = decode_cursor(since) if since is not None else None
        except BadCursor as exc:
            return self._error("bad-since", str(exc))
        self.subscriber.channels = frozenset(channels)
        self._spawn(self._start(positions))
        return None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self, since: dict[str, int] | None) -> None:
        """Register for live events first, then replay up to each stream's end (see Subscriber)."""
        sub = self.subscriber
        try:
            if "feed" in sub.channels:
                await self._refresh_followees()
            self._hub.add(sub)
            replay_streams = LIVE_STREAMS if "me" in sub.channels else ("COMMUNITY",)
            ranges = []
            for stream in LIVE_STREAMS:
                first, last = await self._hub.stream_bounds(stream)
                start = (since or {}).get(stream, last) + 1
                if stream not in replay_streams or start > last + 1:
                    start = last + 1  # nothing to replay; a cursor from the future restarts here
                if start < first:
                    sub.send_control({"notice": {"code": "events-expired", "stream": stream,
                                                 "message": f"events of {stream} before {first} expired"}})
                    start = first
                if last - start + 1 > self._settings.ws_replay_max:
                    start = last - self._settings.ws_replay_max + 1
                    limit = self._settings.ws_replay_max
                    sub.send_control({"notice": {"code": "events-skipped", "stream": stream,
                                                 "message": f"replay limited to the last {limit} events"}})
                sub.positions[stream] = start - 1
                ranges.append((stream, start, last))
            for stream, start, last in ranges:
                await self._hub.replay(stream, start, last, sub.replay)
                sub.positions[stream] = max(sub.positions[stream], last)
        except AtelierError as exc:
            self._error("unavailable", exc.detail)
            self.request_close(1011, "event streams unavailable")
            return
        except Exception:
            log.exception("gateway.live.start_failed")
            self.request_close(1011, "event streams unavailable")
            return
        sub.send_control({"subscribed": sorted(sub.channels), "sequence": sub.cursor()})
        sub.go_live()

    async def _refresh_followees(self) -> None:
        """Snapshot whom the user follows; afterwards follow/unfollow events keep it current, in
        stream order (a later re-fetch could race an unfollow and bring the artist back)."""
        user_id = self.subscriber.user_id
        try:
            reply = json.loads(await call_raw(self._nc, USERS_FOLLOWEES, None, actor_id=user_id,
                                              timeout=self._settings.rpc_timeout_s))
        except AtelierError as exc:
            log.warning("gateway.live.followees_unavailable", status=exc.status, detail=exc.detail)
            self.subscriber.send_control({"notice": {
                "code": "feed-degraded",
                "message": "the list of artists you follow is unavailable; `feed` shows follows made from now on"}})
            return
        self.subscriber.followees = followee_ids(reply)
