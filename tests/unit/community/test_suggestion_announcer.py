"""`community.suggestion.created`: which suggestions are announced, how often an artist's are
recomputed, who may see the event. The database side (once per key) runs against a fake connection
that keeps the announced keys as the table's primary key would."""

from __future__ import annotations

import json
from typing import Any

from services.community import suggestion_announcer as ann
from shared.contracts.events.audience import channel_for, describe, may_see
from shared.contracts.events.catalog import SuggestionCreated
from shared.contracts.webhooks import subscribable_types


def suggestion(kind: str, subject: str, confidence: float, subject_type: str = "tag") -> dict[str, Any]:
    return {"kind": kind, "subject_type": subject_type, "subject": subject, "title": f"More #{subject}",
            "confidence": confidence, "evidence": {}, "explanation": ""}


class FakeConn:
    """What `announce` does with a connection: inserts into suggestion_announcements and the outbox."""

    def __init__(self, table: set[tuple[str, str]], outbox: list[dict[str, Any]]) -> None:
        self.table, self.outbox = table, outbox

    async def fetchval(self, sql: str, *args: Any) -> Any:
        assert "suggestion_announcements" in sql
        if (args[0], args[1]) in self.table:
            return None
        self.table.add((args[0], args[1]))
        return True

    async def execute(self, sql: str, *args: Any) -> str:
        if "pg_notify" in sql:
            return "SELECT 1"
        assert "outbox" in sql
        self.outbox.append(json.loads(next(a for a in args if isinstance(a, str) and a.startswith("{"))))
        return "INSERT 0 1"

    def transaction(self) -> Any:
        return _Nothing()


class _Nothing:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


class FakePool:
    def __init__(self) -> None:
        self.table: set[tuple[str, str]] = set()
        self.outbox: list[dict[str, Any]] = []

    def acquire(self) -> Any:
        conn = FakeConn(self.table, self.outbox)

        class _Acquired:
            async def __aenter__(self) -> FakeConn:
                return conn

            async def __aexit__(self, *exc: object) -> None:
                return None

        return _Acquired()


def test_only_announced_kinds_at_or_above_the_threshold_are_of_weight() -> None:
    items = [suggestion("resonates", "neon", 0.999), suggestion("resonates", "dusk", 0.89),
             suggestion("follow", "bea", 0.9, "artist"), suggestion("model_seed", "7", 0.99, "seed")]
    assert [s["subject"] for s in ann.of_weight(items, 0.9)] == ["neon", "bea"]
    assert ann.of_weight(items, 0.9995) == []
    assert ann.key_of(items[2]) == "follow:artist:bea"


def test_the_interval_guard_allows_one_recomputation_per_artist_per_interval_and_misses_no_like() -> None:
    now = [100.0]
    guard = ann.IntervalGuard(600, clock=lambda: now[0])
    assert guard.claim("ada") == 0  # the first like: now
    assert guard.claim("bea") == 0  # another artist is not held back
    now[0] += 100
    assert guard.claim("ada") == 500  # inside the interval: at its end, not now
    now[0] += 50
    assert guard.claim("ada") is None  # that pending one will see this like too
    now[0] = 700.5  # the pending one has run
    assert guard.claim("ada") == 599.5  # a like just after it: at the end of the next interval
    now[0] = 2000
    assert guard.claim("ada") == 0  # a quiet artist: now again
    assert all(ann.IntervalGuard(0, clock=lambda: 5.0).claim("ada") == 0 for _ in range(3))  # 0: every like


def test_the_interval_guard_stays_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(ann, "MAX_TRACKED", 3)
    now = [0.0]
    guard = ann.IntervalGuard(10, clock=lambda: now[0])
    for i in range(10):
        now[0] += 1
        assert guard.claim(f"u{i}") == 0
        assert len(guard.last) <= 3
    assert guard.claim("u9") == 10  # the most recent are the ones remembered


async def test_a_new_suggestion_is_announced_once_and_a_weak_one_never() -> None:
    pool = FakePool()
    strong, weak = suggestion("resonates", "neon", 0.9991), suggestion("resonates", "dusk", 0.5)
    first = await ann.announce(pool, "ada", [strong, weak], 0.9)
    assert [s["subject"] for s in first] == ["neon"]
    assert await ann.announce(pool, "ada", [strong, weak], 0.9) == []
    again = await ann.announce(pool, "bea", [strong], 0.9)
    assert [s["subject"] for s in again] == ["neon"]
    assert [e["type"] for e in pool.outbox] == ["atelier.community.suggestion.created"] * 2
    data = pool.outbox[0]["data"]
    assert data == {"user_id": "ada", "kind": "resonates", "subject_type": "tag", "about": "neon",
                    "title": "More #neon", "confidence": 0.9991}
    SuggestionCreated.model_validate(data)


def test_only_the_user_it_is_for_sees_the_event() -> None:
    body = json.dumps({"type": "atelier.community.suggestion.created", "id": "e1", "data": {
        "user_id": "ada", "kind": "follow", "subject_type": "artist", "about": "bea", "title": "t",
        "confidence": 0.95}})
    info = describe("COMMUNITY", 9, body)
    everything = frozenset({"me", "feed", "public"})
    assert channel_for(info, "ada", everything, set()) == "me"
    assert channel_for(info, "bea", everything, {"ada"}) is None  # not even the artist suggested
    assert may_see(info, "ada") and not may_see(info, "bea")
    assert "community.suggestion.created" in subscribable_types()


class BrokenPool:
    def acquire(self) -> Any:
        raise OSError("database away")

    async def fetch(self, *args: Any) -> Any:
        raise OSError("database away")


async def test_a_failing_recomputation_is_logged_and_never_raises(caplog: Any) -> None:
    announcer = ann.SuggestionAnnouncer(BrokenPool(), interval_s=600, min_confidence=0.9)
    announcer.liked("ada")
    [first] = announcer.tasks
    await first  # the task itself swallows the error
    assert "announcing the suggestions of ada failed" in caplog.text
    assert announcer.tasks == set()
    announcer.liked("ada")  # within the interval: scheduled at its end
    announcer.liked("ada")  # that one is pending: nothing more
    assert len(announcer.tasks) == 1
    await announcer.close()  # cancels what is still pending
    assert announcer.tasks == set()
