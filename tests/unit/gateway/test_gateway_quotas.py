"""Quota arithmetic (fixed windows, leases) and the replay's work-state table, without servers."""

from __future__ import annotations

import json

from services.gateway.live.visibility import describe
from services.gateway.live.work_states import WorkStates
from services.gateway.quota_store import MemoryQuotaStore, window_of


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_window_of_counts_the_seconds_left_in_the_window() -> None:
    assert window_of(3600 * 5 + 10.2, 3600) == (5, 3590)
    assert window_of(59.999, 60) == (0, 1)


async def test_a_window_refuses_what_would_overflow_and_resets_with_the_next() -> None:
    clock = Clock(120.0)
    store = MemoryQuotaStore(clock=clock)
    assert (await store.hit("images", "u1", 4, 6, 60)).allowed
    refused = await store.hit("images", "u1", 3, 6, 60)
    assert not refused.allowed and refused.used == 4 and refused.retry_after_s == 60
    assert (await store.hit("images", "u1", 2, 6, 60)).used == 6
    assert (await store.hit("images", "u2", 6, 6, 60)).allowed  # per user
    await store.refund("images", "u1", 2, 60)
    assert (await store.hit("images", "u1", 2, 6, 60)).allowed
    clock.now = 180.0
    assert (await store.hit("images", "u1", 6, 6, 60)).allowed


async def test_leases_count_open_connections_and_expire_when_not_renewed() -> None:
    clock = Clock(1000.0)
    store = MemoryQuotaStore(clock=clock)
    assert (await store.acquire("ws", "u", "a", 2, 30)).allowed
    assert (await store.acquire("ws", "u", "b", 2, 30)).allowed
    refused = await store.acquire("ws", "u", "c", 2, 30)
    assert not refused.allowed and refused.used == 2 and refused.retry_after_s == 30
    await store.release("ws", "u", "a")
    assert (await store.acquire("ws", "u", "c", 2, 30)).allowed
    clock.now += 20
    await store.renew("ws", "u", "c", 30)
    clock.now += 15  # b was never renewed: expired; c was
    assert (await store.acquire("ws", "u", "d", 2, 30)).allowed
    assert not (await store.acquire("ws", "u", "e", 2, 30)).allowed


def _event(subject: str, **data: object) -> bytes:
    return json.dumps({"type": f"atelier.{subject}", "id": "e", "data": data}).encode()


def test_a_replayed_publication_is_shown_as_the_work_now_is() -> None:
    states = WorkStates()
    published = _event("community.work.published", work_id="w1", author_id="a", visibility="public", title="t")
    states.note(10, "community.work.published", published)
    info = describe("COMMUNITY", 10, published)
    assert states.recheck(info).public
    states.note(12, "community.work.updated", _event("community.work.updated", work_id="w1", visibility="private"))
    states.note(11, "community.work.updated", _event("community.work.updated", work_id="w1", visibility="public"))
    hidden = states.recheck(info)
    assert not hidden.public and hidden.owner_id == "a" and hidden.body  # still its author's
    states.note(13, "community.work.deleted", _event("community.work.deleted", work_id="w1"))
    assert states.recheck(info).body == ""
    other = describe("COMMUNITY", 14, _event("community.work.published", work_id="w2", author_id="a",
                                             visibility="public"))
    assert states.recheck(other).public  # nothing known since: as stored
