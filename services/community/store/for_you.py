"""The for-you feed's SQL: candidates per source, the works chosen, and the impressions the bandit
learns from (`feed_impressions`)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from services.community.store.feeds import LISTED
from services.community.store.rows import Conn, WorkRow, many
from services.community.store.works import work_select

IMPRESSIONS_KEPT = 1000  # per viewer: older rows are pruned now and then (see prune)
_ELIGIBLE = (f"{LISTED} AND w.author_id IS DISTINCT FROM $1"
             " AND NOT EXISTS (SELECT 1 FROM likes l WHERE l.user_id = $1 AND l.work_id = w.id)")


# Today's affinity of a work for the viewer: its trending score, + 1 per liked tag (cap 3), + 2 for an
# artist they follow or liked. Each source picks its candidates in its own order; within a source the
# feed shows them by affinity (ties: newest first).
_AFFINITY = ("w.score + least(cardinality(ARRAY(SELECT unnest(w.tags) INTERSECT SELECT unnest($3::text[]))), 3)"
             " + CASE WHEN w.author_id = ANY($2::text[]) THEN 2 ELSE 0 END")


async def candidates(conn: Conn, user_id: str | None, *, authors: list[str], tags: list[str],
                     per_source: int) -> dict[str, list[str]]:
    """Up to `per_source` work ids per source, best affinity first; own and liked works left out.

    Every source is a bounded index scan (co-likes: the viewer's 50 latest likes, their 100 most
    overlapping co-likers, those co-likers' likes), so the cost does not grow with the catalogue.
    """
    def pick(source: str, sql_from: str, where: str, order: str) -> str:
        return (f"(SELECT '{source}' AS source, w.id, {_AFFINITY} AS affinity FROM {sql_from}"
                f" WHERE {where}{_ELIGIBLE} ORDER BY {order} LIMIT $4)")

    rows = await conn.fetch(
        "WITH mine AS (SELECT work_id FROM likes WHERE user_id = $1 ORDER BY created_at DESC LIMIT 50),"
        " peers AS (SELECT l.user_id FROM likes l JOIN mine m ON m.work_id = l.work_id"
        "   WHERE l.user_id <> $1 GROUP BY l.user_id ORDER BY count(*) DESC, l.user_id LIMIT 100),"
        " co AS (SELECT l.work_id, count(*) AS n FROM likes l JOIN peers p ON p.user_id = l.user_id"
        "   GROUP BY l.work_id) "
        + " UNION ALL ".join([
            pick("tags", "works w", "w.tags && $3::text[] AND ", "w.score DESC, w.id DESC"),
            pick("artists", "works w", "w.author_id = ANY($2::text[]) AND ", "w.id DESC"),
            pick("co_likes", "co JOIN works w ON w.id = co.work_id", "", "co.n DESC, w.score DESC, w.id DESC"),
            pick("trending", "works w", "", "w.score DESC, w.id DESC"),
            pick("fresh", "works w", "", "w.id DESC"),
        ]),
        user_id, authors, tags, per_source,
    )
    out: dict[str, list[tuple[float, str]]] = {}
    for r in rows:
        out.setdefault(r["source"], []).append((float(r["affinity"]), r["id"]))
    return {source: [w for _, w in sorted(ranked, reverse=True)] for source, ranked in out.items()}


async def works(conn: Conn, viewer_id: str | None, work_ids: list[str]) -> list[WorkRow]:
    """The chosen works, in no particular order (the caller orders them)."""
    return many(WorkRow, await conn.fetch(work_select("$1") + " WHERE w.id = ANY($2::text[])",
                                          viewer_id, work_ids))


async def arm_counts(conn: Conn, user_id: str, as_of: datetime) -> dict[str, tuple[int, int]]:
    """(impressions, likes) per source of what was served, and liked, before `as_of`."""
    rows = await conn.fetch(
        "SELECT source, count(*) AS shown, count(*) FILTER (WHERE liked_at < $2) AS liked"
        " FROM feed_impressions WHERE user_id = $1 AND served_at < $2 GROUP BY source",
        user_id, as_of,
    )
    return {r["source"]: (r["shown"], r["liked"]) for r in rows}


async def seen(conn: Conn, user_id: str, as_of: datetime, work_ids: list[str]) -> set[str]:
    """Which of `work_ids` the feed served the viewer before `as_of` (liked ones are not candidates)."""
    rows = await conn.fetch(
        "SELECT work_id FROM feed_impressions WHERE user_id = $1 AND served_at < $2"
        " AND work_id = ANY($3::text[])", user_id, as_of, work_ids)
    return {r["work_id"] for r in rows}


async def record(conn: asyncpg.Connection, user_id: str, served: list[tuple[str, str]]) -> None:
    """Remember what was served from which source. A work served again, not liked yet, moves to the
    source that served it last (the one whose label the viewer saw when liking it), keeping when it
    was first served."""
    if not served:
        return
    served = sorted(dict(served).items())  # one row per work, in one order: concurrent feeds never deadlock
    await conn.execute(
        "INSERT INTO feed_impressions (user_id, work_id, source)"
        " SELECT $1, s.work_id, s.source FROM unnest($2::text[], $3::text[]) AS s(work_id, source)"
        " ON CONFLICT (user_id, work_id) DO UPDATE SET source = excluded.source"
        " WHERE feed_impressions.liked_at IS NULL",
        user_id, [w for w, _ in served], [s for _, s in served],
    )


async def prune(conn: Conn, user_id: str) -> None:
    """Forget the viewer's impressions beyond the newest IMPRESSIONS_KEPT (an index range scan)."""
    await conn.execute(
        "DELETE FROM feed_impressions WHERE user_id = $1 AND served_at < ("
        "  SELECT served_at FROM feed_impressions WHERE user_id = $1"
        "  ORDER BY served_at DESC OFFSET $2 LIMIT 1)",
        user_id, IMPRESSIONS_KEPT,
    )


async def mark_liked(conn: Conn, user_id: str, work_id: str, *, liked: bool) -> None:
    """A like (or its removal) of a work the feed served: the success of the source that served it."""
    await conn.execute(
        "UPDATE feed_impressions SET liked_at = CASE WHEN $3 THEN now() END"
        " WHERE user_id = $1 AND work_id = $2",
        user_id, work_id, liked,
    )
