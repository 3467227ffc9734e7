"""`community.suggestion.created`: after a like lands on an artist's work, their "resonates" and
"follow" suggestions are recomputed off the request path, at most once per artist per
ATELIER_SUGGESTIONS_ANNOUNCE_INTERVAL_S in each replica (a like inside the interval is seen by a
recomputation at its end), and each suggestion of weight (confidence at least
ATELIER_SUGGESTIONS_ANNOUNCE_MIN_CONFIDENCE) not announced before is recorded in
`suggestion_announcements` and its event enqueued in the same transaction: announced once per user
and suggestion, whatever the replicas and concurrent likes. `model_seed` is not announced (it asks
the trainer). A failure is logged; the like it followed has already been answered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import asyncpg

from services.community import events
from services.community import suggestions as advice
from services.community.store import announcements

log = logging.getLogger(__name__)
ANNOUNCED_KINDS = ("resonates", "follow")
MAX_TRACKED = 10_000  # artists remembered by the interval guard before old entries are dropped
MAX_CONCURRENT = 2  # recomputations at once (each is two queries and some arithmetic)


def key_of(item: dict[str, Any]) -> str:
    return f"{item['kind']}:{item['subject_type']}:{item['subject']}"


def of_weight(items: Iterable[dict[str, Any]], min_confidence: float) -> list[dict[str, Any]]:
    """The suggestions worth announcing: announced kinds at or above the confidence threshold."""
    return [s for s in items if s["kind"] in ANNOUNCED_KINDS and s["confidence"] >= min_confidence]


class IntervalGuard:
    """At most one recomputation per artist per `interval_s`, and none missed: a like within the
    interval of the last one schedules one at the interval's end (unless one is already pending,
    which will see it). Per process; memory bounded."""

    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self.last: dict[str, float] = {}  # when the user's latest recomputation runs (or ran)

    def claim(self, user_id: str) -> float | None:
        """Seconds to wait before recomputing `user_id`'s suggestions (0: now), or None when a
        recomputation is already pending."""
        now = self.clock()
        before = self.last.get(user_id)
        if before is not None and before > now:
            return None
        at = now if before is None or now - before >= self.interval_s else before + self.interval_s
        if len(self.last) >= MAX_TRACKED:
            self.last = {u: t for u, t in self.last.items() if now - t < self.interval_s}
            while len(self.last) >= MAX_TRACKED:  # all recent: forget the oldest
                self.last.pop(next(iter(self.last)))
        self.last.pop(user_id, None)
        self.last[user_id] = at
        return at - now


async def current(pool: asyncpg.Pool, user_id: str) -> list[dict[str, Any]]:
    """The user's "resonates" and "follow" suggestions now, as `GET /v1/me/suggestions` answers them."""
    return await advice.resonates_for(pool, user_id) + await advice.follow_for(pool, user_id)


async def announce(pool: asyncpg.Pool, user_id: str, items: Iterable[dict[str, Any]],
                   min_confidence: float) -> list[dict[str, Any]]:
    """Announce the suggestions of weight not announced before; returns those announced now."""
    announced = []
    async with pool.acquire() as conn, conn.transaction():
        for item in of_weight(items, min_confidence):
            if await announcements.mark_announced(conn, user_id, key_of(item)):
                await events.suggestion_created(conn, user_id, item)
                announced.append(item)
    return announced


class SuggestionAnnouncer:
    """Schedules the recomputation after a like; owns the background tasks (closed with the app)."""

    def __init__(self, pool: asyncpg.Pool, interval_s: float, min_confidence: float) -> None:
        self.pool = pool
        self.min_confidence = min_confidence
        self.guard = IntervalGuard(interval_s)
        self.tasks: set[asyncio.Task[None]] = set()
        self.gate = asyncio.Semaphore(MAX_CONCURRENT)

    def liked(self, author_id: str) -> None:
        """A like landed on a work of `author_id` (called after its transaction committed)."""
        delay = self.guard.claim(author_id)
        if delay is None:
            return
        task = asyncio.create_task(self._run(author_id, delay), name=f"suggestions:{author_id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, user_id: str, delay: float) -> None:
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            async with self.gate:
                await announce(self.pool, user_id, await current(self.pool, user_id), self.min_confidence)
        except asyncio.CancelledError:
            raise
        except Exception:  # a failure must never reach the like; the next like retries
            log.exception("announcing the suggestions of %s failed", user_id)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
