"""Which suggestions were announced to whom (`community.suggestion.created`)."""

from __future__ import annotations

import asyncpg


async def mark_announced(conn: asyncpg.Connection, user_id: str, key: str) -> bool:
    """Record that suggestion `key` was announced to `user_id`: False if it already was."""
    got = await conn.fetchval(
        "INSERT INTO suggestion_announcements (user_id, key) VALUES ($1, $2)"
        " ON CONFLICT (user_id, key) DO NOTHING RETURNING true",
        user_id, key,
    )
    return bool(got)
