"""Engagement aggregates over one author's works."""

from __future__ import annotations

from typing import Literal

from services.community.store.rows import Conn, DayCount, OriginEngagementRow, TagEngagementRow, TopWorkRow, many


async def per_day(conn: Conn, engagement: Literal["likes", "comments"], author_id: str,
                  days: int) -> list[DayCount]:
    """Likes or comments on the author's works per UTC day, over the last `days` days."""
    return many(DayCount, await conn.fetch(
        "SELECT date_trunc('day', e.created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS count"
        f" FROM {engagement} e JOIN works w ON w.id = e.work_id"
        " WHERE w.author_id = $1 AND e.created_at >= now() - make_interval(days => $2)"
        " GROUP BY 1 ORDER BY 1",
        author_id, days,
    ))


async def by_tag(conn: Conn, author_id: str, limit: int) -> list[TagEngagementRow]:
    return many(TagEngagementRow, await conn.fetch(
        "SELECT tag, count(*) AS works, sum(like_count) AS likes, sum(comment_count) AS comments"
        " FROM works, unnest(tags) AS tag WHERE author_id = $1"
        " GROUP BY tag ORDER BY likes DESC, works DESC, tag LIMIT $2",
        author_id, limit,
    ))


async def by_origin(conn: Conn, author_id: str) -> list[OriginEngagementRow]:
    return many(OriginEngagementRow, await conn.fetch(
        "SELECT origin, count(*) AS works, sum(like_count) AS likes, sum(comment_count) AS comments"
        " FROM works WHERE author_id = $1 GROUP BY origin ORDER BY likes DESC, origin",
        author_id,
    ))


async def most_liked(conn: Conn, author_id: str, limit: int) -> list[TopWorkRow]:
    return many(TopWorkRow, await conn.fetch(
        "SELECT id, title, like_count, asset_ids FROM works WHERE author_id = $1"
        " ORDER BY like_count DESC, id DESC LIMIT $2",
        author_id, limit,
    ))
