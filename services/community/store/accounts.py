"""Accounts that end and export: credentials by id, deleting a user with everything they made, and
the pages of a user's data for the export archive."""

from __future__ import annotations

from typing import Any

from services.community.store.rows import Conn, CredentialsRow, LockedWork, many, one
from services.community.store.users import USER_COLUMNS


async def credentials_by_id(conn: Conn, user_id: str) -> CredentialsRow | None:
    return one(CredentialsRow, await conn.fetchrow(
        f"SELECT {USER_COLUMNS}, password_hash FROM users WHERE id = $1", user_id))


async def delete_account(conn: Conn, user_id: str) -> list[LockedWork] | None:
    """Delete the user and what they made, in the caller's transaction; returns their deleted works
    (None when the user does not exist). Counters on other people's works are corrected first; the
    rows go with the user through ON DELETE CASCADE (likes, comments, follows, reports, collections).
    Works of others made with this user's style models are not touched: they stay as credited history."""
    if await conn.fetchval("SELECT id FROM users WHERE id = $1 FOR UPDATE", user_id) is None:
        return None
    await conn.execute(
        "UPDATE works w SET like_count = greatest(w.like_count - 1, 0),"
        " score = hot_score(greatest(w.like_count - 1, 0), w.comment_count, w.created_at)"
        " FROM likes l WHERE l.user_id = $1 AND l.work_id = w.id AND w.author_id <> $1", user_id)
    await conn.execute(
        "UPDATE works w SET comment_count = greatest(w.comment_count - c.n, 0),"
        " score = hot_score(w.like_count, greatest(w.comment_count - c.n, 0), w.created_at)"
        " FROM (SELECT work_id, count(*)::int AS n FROM comments WHERE author_id = $1 GROUP BY work_id) c"
        " WHERE w.id = c.work_id AND w.author_id <> $1", user_id)
    await conn.execute(
        "UPDATE works w SET report_count = greatest(w.report_count - 1, 0)"
        " FROM reports r WHERE r.reporter_id = $1 AND r.reviewed_at IS NULL AND r.work_id = w.id"
        " AND w.author_id <> $1", user_id)
    works = many(LockedWork, await conn.fetch(
        "DELETE FROM works WHERE author_id = $1 RETURNING id, author_id, visibility, asset_ids, published_at",
        user_id))
    await conn.execute("DELETE FROM idempotency_keys WHERE actor_id = $1", user_id)
    await conn.execute("DELETE FROM users WHERE id = $1", user_id)
    return works


# -- export: one keyset page per section, oldest first ---------------------------------------------

_EXPORT_SQL = {
    "works": (
        "SELECT w.id AS key, w.id, w.title, w.description, w.tags, w.asset_ids, w.visibility, w.origin,"
        " w.allow_training, w.model_id, w.model_version, w.model_owner_id, w.generation_id, w.like_count,"
        " w.comment_count, w.hidden, w.created_at, w.updated_at, w.published_at"
        " FROM works w WHERE w.author_id = $1 AND ($2::text IS NULL OR w.id > $2) ORDER BY w.id LIMIT $3"),
    "comments": (
        "SELECT c.id AS key, c.id, c.work_id, c.body, c.created_at FROM comments c"
        " WHERE c.author_id = $1 AND ($2::text IS NULL OR c.id > $2) ORDER BY c.id LIMIT $3"),
    "likes": (
        "SELECT l.work_id AS key, l.work_id, l.created_at FROM likes l"
        " WHERE l.user_id = $1 AND ($2::text IS NULL OR l.work_id > $2) ORDER BY l.work_id LIMIT $3"),
    "collections": (
        "SELECT c.id AS key, c.id, c.title, c.description, c.visibility, c.training_set, c.created_at,"
        " c.updated_at, coalesce((SELECT array_agg(cw.work_id ORDER BY cw.position) FROM collection_works cw"
        "   WHERE cw.collection_id = c.id), '{}') AS work_ids"
        " FROM collections c WHERE c.owner_id = $1 AND ($2::text IS NULL OR c.id > $2) ORDER BY c.id LIMIT $3"),
    "following": (
        "SELECT u.id AS key, u.id AS user_id, u.username, f.created_at FROM follows f"
        " JOIN users u ON u.id = f.followee_id"
        " WHERE f.follower_id = $1 AND ($2::text IS NULL OR u.id > $2) ORDER BY u.id LIMIT $3"),
}


async def export_page(conn: Conn, user_id: str, section: str, after: str | None,
                      limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Up to `limit` items of `section` after key `after`, and the key to continue from (None: done)."""
    records = await conn.fetch(_EXPORT_SQL[section], user_id, after, limit + 1)
    items = [dict(r) for r in records[:limit]]
    next_after = str(items[-1]["key"]) if len(records) > limit else None
    for item in items:
        del item["key"]
        for name in ("tags", "asset_ids", "work_ids"):
            if name in item:
                item[name] = list(item[name])
    return items, next_after
