"""Is the instance holding my request still alive? A watched call (`rpc.call(..., watch_peer=True)`)
asks this while it waits, so a caller whose handler died hears 503 in seconds, not at the deadline.

- Each watched request carries a call id (`Atelier-Call-Id`). Every instance of the service listens
  on `svc.<service>._holder` and answers with its instance id while it holds that call; the caller
  asks soon after sending, then probes that one instance (`svc.<service>._alive.<id>`) every second.
  NATS answers "no responders" at once when the instance is gone, also when other replicas live; a
  slow answer counts as alive. An instance keeps both subscriptions until its in-flight requests
  have answered, so a graceful stop is not mistaken for a death.
- When no instance claims the call (it died before the first question, or the request still waits
  in a saturated instance's queue), the caller falls back on start times: every instance publishes
  its start in its micro PING metadata, and the call counts as lost once no instance that was
  already serving when it left answers PING. With an older replica alive that fallback waits for
  the deadline (docs/operations.md, "Faults and replicas").
- A saturated instance (every handler slot of an operation taken) answers the holder question with
  QUEUED: the call may wait in its queue. A call that nobody claims and no saturated instance may
  hold, LOST_AFTER questions in a row, is lost: its holder died before the first question, or the
  request or its answer died with a NATS cluster node. That ends the deadline wait beside an older
  replica too."""

from __future__ import annotations

import asyncio
import contextlib
import json

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from shared.ids import new_id

CALL_ID = "Atelier-Call-Id"
HOLDER_AFTER_S = 0.25  # when a watched call first asks who holds it
WATCH_AFTER_S = 1.0  # a call still waiting after this long starts checking that its service is alive
WATCH_EVERY_S = 1.0
PING_TIMEOUT_S = 0.5
LOST_AFTER = 4  # "who holds call X?" unanswered this many times in a row: the call was lost
QUEUED = "?"  # a saturated instance's answer to "who holds call X?": it may wait in my queue
STARTED_METADATA = "started_ms"  # an instance's start (wall clock, ms), in its micro PING metadata


def started_ms(ping: bytes) -> int | None:
    try:
        value = json.loads(ping).get("metadata", {}).get(STARTED_METADATA)
        return int(value)
    except (ValueError, TypeError, AttributeError):
        return None


async def _older_instance_answers(nc: NATS, service: str, sent_ms: int) -> bool:
    """Whether an instance of `service` that was already serving when the request left answers PING.
    Every instance answers; one that started later (a replacement, a scale-out) cannot hold it."""
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    try:
        await nc.publish(f"$SRV.PING.{service}", b"", reply=inbox)
        deadline = asyncio.get_running_loop().time() + PING_TIMEOUT_S
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                msg = await sub.next_msg(timeout=left)
            except NatsTimeoutError:
                break
            started = started_ms(msg.data)
            if started is None or started <= sent_ms:  # unknown age counts as possibly the handler
                return True
        return False
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


def holder_subject(service: str) -> str:
    return f"svc.{service}._holder"


def alive_subject(service: str, instance: str) -> str:
    return f"svc.{service}._alive.{instance}"


class Holdings:
    """The serving side: the watched calls this instance holds, and the answers to "who holds call
    X?" and "are you alive?"."""

    def __init__(self, nc: NATS, service: str) -> None:
        self._nc = nc
        self._service = service
        self.instance = new_id()
        self._calls: set[str] = set()
        self._subs: list[Subscription] = []
        self._slots: list[asyncio.Semaphore] = []

    def track(self, slots: asyncio.Semaphore) -> None:
        """An operation's handler slots: while all are taken, requests wait unclaimed in the queue."""
        self._slots.append(slots)

    def saturated(self) -> bool:
        return any(slots.locked() for slots in self._slots)

    async def start(self) -> None:
        self._subs = [await self._nc.subscribe(holder_subject(self._service), cb=self._on_holder),
                      await self._nc.subscribe(alive_subject(self._service, self.instance), cb=self._on_alive)]

    async def stop(self) -> None:
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs = []

    def hold(self, call_id: str | None) -> None:
        if call_id:
            self._calls.add(call_id)

    def release(self, call_id: str | None) -> None:
        if call_id:
            self._calls.discard(call_id)

    async def _on_holder(self, msg: Msg) -> None:
        if not msg.reply:
            return
        if msg.data.decode(errors="replace") in self._calls:
            answer = self.instance.encode()
        elif self.saturated():
            answer = QUEUED.encode()  # not in hand, but maybe in the queue: keep waiting
        else:
            return  # only a holder, or an instance that might hold it soon, answers
        with contextlib.suppress(Exception):
            await msg.respond(answer)

    async def _on_alive(self, msg: Msg) -> None:
        if msg.reply:
            with contextlib.suppress(Exception):
                await msg.respond(b"")


async def _holder(nc: NATS, service: str, call_id: str) -> str | None:
    """The id of the instance holding the call, or None when none says so in time."""
    try:
        reply = await nc.request(holder_subject(service), call_id.encode(), timeout=PING_TIMEOUT_S)
    except Exception:  # nobody listens, nobody holds it, or the bus is slow: the fallback decides
        return None
    return reply.data.decode(errors="replace") or None


async def _only_newer_instances(nc: NATS, service: str, sent_ms: int) -> bool:
    """Whether every instance that answers PING started after the request left (none can hold it).
    Raises NoRespondersError when no instance answers at all."""
    first = await nc.request(f"$SRV.PING.{service}", b"", timeout=PING_TIMEOUT_S)
    started = started_ms(first.data)
    return started is not None and started > sent_ms and not await _older_instance_answers(nc, service, sent_ms)


async def service_gone(nc: NATS, service: str, sent_ms: int, call_id: str | None = None) -> None:
    """Return once the instance handling the request is gone (see the module's docstring). A busy
    instance that is slow to answer counts as alive; the call's deadline still bounds the wait.

    A call that no instance claims, and that no saturated instance may have queued, for LOST_AFTER
    questions in a row (a second apart) is lost too: its holder died before the first question
    (also beside an older replica), or the request or its answer died with a NATS cluster node
    while every instance lives (an answer sent takes milliseconds, not seconds)."""
    unclaimed = 0
    await asyncio.sleep(HOLDER_AFTER_S)
    holder = await _holder(nc, service, call_id) if call_id else None
    holder = None if holder == QUEUED else holder
    await asyncio.sleep(max(0.0, WATCH_AFTER_S - HOLDER_AFTER_S))
    while True:
        try:
            if call_id:
                now = await _holder(nc, service, call_id)
                if now == QUEUED:
                    unclaimed = 0
                elif now is not None:
                    holder, unclaimed = now, 0
                elif nc.is_connected:
                    unclaimed += 1
                    if unclaimed >= LOST_AFTER:
                        return
            if holder is not None:
                await nc.request(alive_subject(service, holder), b"", timeout=PING_TIMEOUT_S)
            elif await _only_newer_instances(nc, service, sent_ms):
                return
        except NoRespondersError:
            return
        except Exception:  # slow or unreachable: the deadline still bounds the call
            pass
        await asyncio.sleep(WATCH_EVERY_S)
