"""`GET /v1/me/insights`: how an artist's works are received, over time, by tag, by origin and
by the colour palettes of their most liked works."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.community.deps import Deps
from services.community.store import insights as store
from services.community.store.rows import DayCount, OriginEngagementRow, TagEngagementRow

WINDOW_DAYS = 30
TOP_TAGS = 20
TOP_WORKS = 5


def _daily(rows: list[DayCount], days: int, today: date) -> list[dict[str, Any]]:
    """A continuous series, one point per day (zeros included), oldest first."""
    counts = {row.day: row.count for row in rows}
    start = today - timedelta(days=days - 1)
    return [{"date": (start + timedelta(days=i)).isoformat(), "count": counts.get(start + timedelta(days=i), 0)}
            for i in range(days)]


def _group(rows: Sequence[TagEngagementRow | OriginEngagementRow], key: str) -> list[dict[str, Any]]:
    return [{key: getattr(r, key), "works": r.works, "likes": int(r.likes or 0), "comments": int(r.comments or 0)}
            for r in rows]


async def insights(deps: Deps, user_id: str) -> dict[str, Any]:
    pool = deps.pool
    likes = await store.per_day(pool, "likes", user_id, WINDOW_DAYS)
    comments = await store.per_day(pool, "comments", user_id, WINDOW_DAYS)
    by_tag = await store.by_tag(pool, user_id, TOP_TAGS)
    by_origin = _group(await store.by_origin(pool, user_id), "origin")
    top = await store.most_liked(pool, user_id, TOP_WORKS)
    palettes = await deps.assets.palettes([row.asset_ids[0] for row in top if row.asset_ids])
    today = datetime.now(UTC).date()
    return {
        "window_days": WINDOW_DAYS,
        "totals": {"works": sum(g["works"] for g in by_origin), "likes": sum(g["likes"] for g in by_origin),
                   "comments": sum(g["comments"] for g in by_origin)},
        "likes_over_time": _daily(likes, WINDOW_DAYS, today),
        "comments_over_time": _daily(comments, WINDOW_DAYS, today),
        "by_tag": _group(by_tag, "tag"),
        "by_origin": by_origin,
        "top_works": [
            {"work_id": row.id, "title": row.title, "like_count": row.like_count,
             "palette": (palettes or {}).get(row.asset_ids[0], []) if row.asset_ids else []}
            for row in top
        ],
        "palettes_available": palettes is not None,
    }
