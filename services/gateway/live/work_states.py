"""The latest visibility of each work, as the COMMUNITY stream tells it, so that a replay never
shows a work in the state it had when its event was stored.

A reconnecting client replays up to 7 days of events; a work published then and made private (or
deleted) since must not reach others through that replay (title, asset ids). The hub feeds this
table every COMMUNITY event it tails, and at start-up reads the stream's work events once
(`community.work.published`, `.updated`, `.deleted`) so that changes made before this gateway
started count too. Each work keeps the state of its newest event (by stream sequence).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.gateway.live.visibility import EventInfo
from shared.ids import new_id
from shared.logging import get_logger

log = get_logger(__name__)
STREAM = "COMMUNITY"
WORK_SUBJECTS = ("community.work.published", "community.work.updated", "community.work.deleted")
DELETED = "deleted"
_BATCH = 1024


def work_state(subject: str, raw: bytes | str) -> tuple[str, str] | None:
    """(work id, visibility or "deleted") of a work event; None for anything else."""
    if subject not in WORK_SUBJECTS:
        return None
    try:
        doc = json.loads(raw)
        data = doc.get("data") or {}
        work_id = data["work_id"]
        state = DELETED if subject.endswith(".deleted") else str(data["visibility"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return (work_id, state) if isinstance(work_id, str) else None


class WorkStates:
    def __init__(self, *, max_works: int = 1_000_000) -> None:
        self._states: dict[str, tuple[int, str]] = {}
        self._max_works = max_works
        self.seeded = asyncio.Event()

    def note(self, seq: int, subject: str, raw: bytes | str) -> None:
        found = work_state(subject, raw)
        if found is None:
            return
        work_id, state = found
        known = self._states.get(work_id)
        if known is None or known[0] < seq:
            if known is None and len(self._states) >= self._max_works:
                self._states.pop(next(iter(self._states)))  # the oldest entry
            self._states[work_id] = (seq, state)

    def current(self, work_id: str) -> str | None:
        known = self._states.get(work_id)
        return known[1] if known else None

    def recheck(self, info: EventInfo) -> EventInfo:
        """A replayed `community.work.published` as things stand now: not public any more → only its
        author's `me` channel; deleted → nobody."""
        if info.subject != "community.work.published" or not info.body:
            return info
        found = work_state(info.subject, info.body)
        state = self.current(found[0]) if found else None
        if state is None or state == "public":
            return info
        if state == DELETED:
            return dataclasses.replace(info, body="")
        return dataclasses.replace(info, public=False)

    async def seed(self, js: JetStreamContext, timeout_s: float) -> None:
        """Read the stream's work events once, from its first message to its current end."""
        name = f"ws-works-{new_id().lower()}"
        config = ConsumerConfig(name=name, deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE,
                                filter_subjects=list(WORK_SUBJECTS), inactive_threshold=30.0,
                                mem_storage=True, num_replicas=1)
        count = 0
        try:
            await js.add_consumer(STREAM, config)
            sub = await js.pull_subscribe_bind(name, stream=STREAM)
            try:
                while True:
                    try:
                        msgs = await sub.fetch(_BATCH, timeout=timeout_s)
                    except (NatsTimeoutError, TimeoutError):
                        break
                    for msg in msgs:
                        self.note(msg.metadata.sequence.stream, msg.subject, msg.data)
                        count += 1
                    if not msgs or msgs[-1].metadata.num_pending == 0:
                        break
            finally:
                await sub.unsubscribe()
                await asyncio.wait_for(js.delete_consumer(STREAM, name), timeout_s)
        except Exception as exc:  # replays then rely on what the tail sees from now on
            log.warning("gateway.live.work_states_unseeded", error=type(exc).__name__)
        finally:
            self.seeded.set()
        log.info("gateway.live.work_states_seeded", events=count, works=len(self._states))
