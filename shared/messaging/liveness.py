"""Is the instance holding my request still alive? A watched call (`rpc.call(..., watch_peer=True)`)
asks this while it waits: every instance publishes its start time in its micro PING metadata, so a
replacement that started after the request left is not mistaken for the instance that had it."""

from __future__ import annotations

import asyncio
import contextlib
import json

from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

WATCH_AFTER_S = 1.0  # a call still waiting after this long starts checking that its service is alive
WATCH_EVERY_S = 1.0
PING_TIMEOUT_S = 0.5
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


async def service_gone(nc: NATS, service: str, sent_ms: int) -> None:
    """Return once no instance that could be handling the request is alive: nobody answers PING, or
    only instances started after the request was sent do (the one that had it died and a supervisor
    already replaced it). A busy instance that is slow to answer counts as alive."""
    await asyncio.sleep(WATCH_AFTER_S)
    while True:
        try:
            first = await nc.request(f"$SRV.PING.{service}", b"", timeout=PING_TIMEOUT_S)
            started = started_ms(first.data)
            if started is not None and started > sent_ms \
                    and not await _older_instance_answers(nc, service, sent_ms):
                return
        except NoRespondersError:
            return
        except Exception:  # slow or unreachable: the deadline still bounds the call
            pass
        await asyncio.sleep(WATCH_EVERY_S)
