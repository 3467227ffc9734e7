"""Works, likes, comments, reports and idempotency records."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.community.store.rows import (
    CommentRow,
    Conn,
    LikedWork,
    LockedWork,
    TrainingCandidate,
    WorkRow,
    many,
    one,
    required,
)

WORK_FIELDS = ("title", "description", "tags", "asset_ids", "visibility", "allow_training", "licence", "licence_terms",
               "similarity_acknowledged")


def work_select(viewer_param: str, extra_columns: str = "") -> str:
    """Columns a work is shown with; `viewer_param` is the `$n` holding the viewer id (or NULL)."""
    return (
        "SELECT w.id, w.author_id, u.username AS author_username, u.display_name AS author_display_name,"
        " w.title, w.description, w.tags, w.asset_ids, w.visibility, w.origin, w.allow_training,"
        " w.similarity_acknowledged,"
        " w.model_id, w.model_version, w.model_owner_id, w.generation_id, w.like_count, w.comment_count,"
        " w.hidden, w.score, w.created_at, w.updated_at, w.published_at, w.licence, w.licence_terms,"
        f" EXISTS (SELECT 1 FROM likes l WHERE l.user_id = {viewer_param} AND l.work_id = w.id) AS liked_by_me"
        f"{extra_columns} FROM works w JOIN users u ON u.id = w.author_id"
    )


async def insert_work(conn: Conn, work: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO works (id, author_id, title, description, tags, asset_ids, visibility, origin,"
        " allow_training, model_id, model_version, model_owner_id, generation_id, score, published_at,"
        " licence, licence_terms, similarity_acknowledged)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, hot_score(0, 0, now()),"
        "  CASE WHEN $7 = 'private' THEN NULL ELSE now() END, $14, $15, $16)",
        work["id"], work["author_id"], work["title"], work["description"], work["tags"], work["asset_ids"],
        work["visibility"], work["origin"], work["allow_training"], work.get("model_id"),
        work.get("model_version"), work.get("model_owner_id"), work.get("generation_id"),
        work.get("licence") or "LicenseRef-All-Rights-Reserved", work.get("licence_terms") or "",
        bool(work.get("similarity_acknowledged")),
    )


async def work_for_viewer(conn: Conn, work_id: str, viewer_id: str | None) -> WorkRow | None:
    """The work if the viewer may see it: private works exist only for their author."""
    return one(WorkRow, await conn.fetchrow(
        work_select("$2") + " WHERE w.id = $1 AND (w.visibility <> 'private' OR w.author_id = $2)",
        work_id, viewer_id,
    ))


async def lock_work(conn: asyncpg.Connection, work_id: str) -> LockedWork | None:
    return one(LockedWork, await conn.fetchrow(
        "SELECT id, author_id, visibility, asset_ids, published_at FROM works WHERE id = $1 FOR UPDATE", work_id
    ))


async def update_work(conn: Conn, work_id: str, fields: dict[str, Any], *, mark_published: bool) -> None:
    names = [name for name in WORK_FIELDS if name in fields]
    sets = "".join(f"{name} = ${i}, " for i, name in enumerate(names, start=3))
    await conn.execute(
        f"UPDATE works SET {sets}updated_at = now(),"
        " published_at = CASE WHEN $2 THEN coalesce(published_at, now()) ELSE published_at END WHERE id = $1",
        work_id, mark_published, *(fields[name] for name in names),
    )


async def delete_work(conn: Conn, work_id: str) -> None:
    await conn.execute("DELETE FROM works WHERE id = $1", work_id)


async def like(conn: Conn, user_id: str, work_id: str) -> bool:
    """True when the like is new; the counter and trending score move in the same transaction."""
    status: str = await conn.execute(
        "INSERT INTO likes (user_id, work_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", user_id, work_id
    )
    if not status.endswith(" 1"):
        return False
    await conn.execute(
        "UPDATE works SET like_count = like_count + 1,"
        " score = hot_score(like_count + 1, comment_count, created_at) WHERE id = $1",
        work_id,
    )
    return True


async def unlike(conn: Conn, user_id: str, work_id: str) -> bool:
    status: str = await conn.execute("DELETE FROM likes WHERE user_id = $1 AND work_id = $2", user_id, work_id)
    if not status.endswith(" 1"):
        return False
    await conn.execute(
        "UPDATE works SET like_count = greatest(like_count - 1, 0),"
        " score = hot_score(greatest(like_count - 1, 0), comment_count, created_at) WHERE id = $1",
        work_id,
    )
    return True


async def insert_comment(conn: Conn, comment_id: str, work_id: str, author_id: str, body: str) -> CommentRow:
    await conn.execute(
        "UPDATE works SET comment_count = comment_count + 1,"
        " score = hot_score(like_count, comment_count + 1, created_at) WHERE id = $1",
        work_id,
    )
    return required(CommentRow, await conn.fetchrow(
        "WITH c AS (INSERT INTO comments (id, work_id, author_id, body) VALUES ($1, $2, $3, $4) RETURNING *)"
        " SELECT c.id, c.work_id, c.author_id, u.username AS author_username, c.body, c.created_at"
        " FROM c JOIN users u ON u.id = c.author_id",
        comment_id, work_id, author_id, body,
    ))


async def comments_page(conn: Conn, work_id: str, after_id: str | None, limit: int) -> list[CommentRow]:
    """Oldest first, keyset on the (time-ordered) comment id."""
    return many(CommentRow, await conn.fetch(
        "SELECT c.id, c.work_id, c.author_id, u.username AS author_username, c.body, c.created_at"
        " FROM comments c JOIN users u ON u.id = c.author_id"
        " WHERE c.work_id = $1 AND ($2::text IS NULL OR c.id > $2) ORDER BY c.id LIMIT $3",
        work_id, after_id, limit,
    ))


async def insert_report(conn: Conn, work_id: str, reporter_id: str, reason: str, details: str,
                        hide_threshold: int) -> bool:
    """Record a report once per user; hides the work once enough distinct users reported it."""
    status: str = await conn.execute(
        "INSERT INTO reports (work_id, reporter_id, reason, details) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING",
        work_id, reporter_id, reason, details,
    )
    if not status.endswith(" 1"):
        return False
    await conn.execute(
        "UPDATE works SET report_count = report_count + 1, hidden = hidden OR report_count + 1 >= $2"
        " WHERE id = $1",
        work_id, hide_threshold,
    )
    return True


async def author_liked_works(conn: Conn, user_id: str, limit: int) -> list[LikedWork]:
    """Authors and tags of what the user liked most recently (for recommendations)."""
    return many(LikedWork, await conn.fetch(
        "SELECT w.author_id, w.tags FROM likes l JOIN works w ON w.id = l.work_id"
        " WHERE l.user_id = $1 ORDER BY l.created_at DESC LIMIT $2",
        user_id, limit,
    ))


async def works_using_asset(conn: Conn, asset_id: str) -> list[str]:
    rows = await conn.fetch("SELECT id FROM works WHERE asset_ids @> ARRAY[$1]::text[] ORDER BY id", asset_id)
    return [r["id"] for r in rows]


async def works_by_ids(conn: Conn, work_ids: list[str]) -> list[TrainingCandidate]:
    return many(TrainingCandidate, await conn.fetch(
        "SELECT id, author_id, asset_ids, visibility, allow_training FROM works WHERE id = ANY($1::text[])",
        work_ids,
    ))


async def lock_key(conn: asyncpg.Connection, name: str) -> None:
    """Serialise concurrent requests that carry the same idempotency key (until commit)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", name)


async def saved_response(conn: Conn, actor_id: str, operation: str, key: str) -> dict[str, Any] | None:
    # The pool's jsonb codec decodes the saved answer (shared.db): it comes back as Python values.
    saved: dict[str, Any] | None = await conn.fetchval(
        "SELECT response FROM idempotency_keys WHERE actor_id = $1 AND operation = $2 AND key = $3",
        actor_id, operation, key,
    )
    return saved


async def save_response(conn: Conn, actor_id: str, operation: str, key: str, response: dict[str, Any]) -> bool:
    """Remember the answer to a keyed request; False when another request with the key won the race."""
    status: str = await conn.execute(
        "INSERT INTO idempotency_keys (actor_id, operation, key, response) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING",
        actor_id, operation, key, response,
    )
    return status.endswith(" 1")
