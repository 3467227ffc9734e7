"""Users, credentials and follows."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.community.store.rows import Conn, CredentialsRow, ProfileRow, UserRow, one, required
from shared.errors import Conflict

SIGNUP_CONFLICT = "that username or email cannot be used: choose another, or sign in if you have an account"
USER_COLUMNS = "id, username, email, display_name, bio, allow_training, created_at, updated_at"


async def insert_user(conn: Conn, user_id: str, username: str, email: str, password_hash: str) -> UserRow:
    try:
        return required(UserRow, await conn.fetchrow(
            f"INSERT INTO users (id, username, email, password_hash) VALUES ($1, $2, $3, $4)"
            f" RETURNING {USER_COLUMNS}",
            user_id, username, email, password_hash,
        ))
    except asyncpg.UniqueViolationError:
        # One answer for a taken username and a taken email alike: the email alone is not confirmed
        # to whoever asks (sign-ups are also limited per client at the gateway: signup_limit.py).
        raise Conflict(SIGNUP_CONFLICT, errors=[{"field": field, "message": "cannot be used", "type": "unique"}
                                                for field in ("username", "email")]) from None


async def credentials_by_login(conn: Conn, login: str) -> CredentialsRow | None:
    """The user whose username or email is `login` (case-insensitive), with the password hash."""
    return one(CredentialsRow, await conn.fetchrow(
        f"SELECT {USER_COLUMNS}, password_hash FROM users"
        " WHERE username = lower($1) OR lower(email) = lower($1) LIMIT 1",
        login,
    ))


async def set_password_hash(conn: Conn, user_id: str, password_hash: str) -> None:
    await conn.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, password_hash)


async def user_by_id(conn: Conn, user_id: str) -> UserRow | None:
    return one(UserRow, await conn.fetchrow(f"SELECT {USER_COLUMNS} FROM users WHERE id = $1", user_id))


async def user_id_by_username(conn: Conn, username: str) -> str | None:
    user_id: str | None = await conn.fetchval("SELECT id FROM users WHERE username = lower($1)", username)
    return user_id


_PROFILE_SELECT = (
    "SELECT " + ", ".join("u." + c for c in USER_COLUMNS.split(", ")) + ","
    " (SELECT count(*) FROM follows f WHERE f.followee_id = u.id) AS followers,"
    " (SELECT count(*) FROM follows f WHERE f.follower_id = u.id) AS following,"
    " (SELECT count(*) FROM works w WHERE w.author_id = u.id"
    "    AND (w.visibility = 'public' OR w.author_id = $2)) AS works,"
    " (SELECT coalesce(sum(w.like_count), 0) FROM works w WHERE w.author_id = u.id"
    "    AND (w.visibility <> 'private' OR w.author_id = $2)) AS likes_received,"
    " EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $2 AND f.followee_id = u.id) AS followed_by_me"
    " FROM users u"
)


async def profile_by_username(conn: Conn, username: str, viewer_id: str | None) -> ProfileRow | None:
    """A user with public counts; `works` counts what the viewer may see."""
    return one(ProfileRow, await conn.fetchrow(_PROFILE_SELECT + " WHERE u.username = lower($1)", username, viewer_id))


async def profile_by_id(conn: Conn, user_id: str, viewer_id: str | None) -> ProfileRow | None:
    return one(ProfileRow, await conn.fetchrow(_PROFILE_SELECT + " WHERE u.id = $1", user_id, viewer_id))


async def update_profile(conn: Conn, user_id: str, fields: dict[str, Any]) -> UserRow | None:
    allowed = {"display_name", "bio", "allow_training"}
    names = [name for name in fields if name in allowed]
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=2))
    return one(UserRow, await conn.fetchrow(
        f"UPDATE users SET {sets + ', ' if sets else ''}updated_at = now() WHERE id = $1 RETURNING {USER_COLUMNS}",
        user_id, *(fields[name] for name in names),
    ))


async def follow(conn: Conn, follower_id: str, followee_id: str) -> bool:
    """True when the follow is new (idempotent: following twice changes nothing)."""
    status: str = await conn.execute(
        "INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        follower_id, followee_id,
    )
    return status.endswith(" 1")


async def unfollow(conn: Conn, follower_id: str, followee_id: str) -> bool:
    status: str = await conn.execute(
        "DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2", follower_id, followee_id
    )
    return status.endswith(" 1")


async def followed_ids(conn: Conn, user_id: str, limit: int = 500) -> list[str]:
    rows = await conn.fetch(
        "SELECT followee_id FROM follows WHERE follower_id = $1 ORDER BY created_at DESC LIMIT $2", user_id, limit
    )
    return [r["followee_id"] for r in rows]


async def consenting_user_ids(conn: Conn, user_ids: list[str]) -> set[str]:
    rows = await conn.fetch("SELECT id FROM users WHERE id = ANY($1::text[]) AND allow_training", user_ids)
    return {r["id"] for r in rows}
