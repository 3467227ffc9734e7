"""Login failure counters and known clients (the SQL of `services.community.login_guard`)."""

from __future__ import annotations

from datetime import datetime

from services.community.store.rows import Conn


async def locked(conn: Conn, keys: list[str]) -> dict[str, datetime]:
    """key -> locked_until, for the keys locked right now."""
    rows = await conn.fetch(
        "SELECT key, locked_until FROM login_failures WHERE key = ANY($1::text[]) AND locked_until > now()", keys)
    return {r["key"]: r["locked_until"] for r in rows}


async def record_failure(conn: Conn, key: str, window_s: float, free: int, base_s: float, max_s: float) -> int:
    """Count one failure of `key` (a counter idle for `window_s` starts over) and lock it for
    base * 2^(failures - free) seconds (at most `max_s`) once it reached `free`; returns the count."""
    failures: int = await conn.fetchval(
        "INSERT INTO login_failures AS f (key, failures, last_failure_at) VALUES ($1, 1, now())"
        " ON CONFLICT (key) DO UPDATE SET"
        "  failures = CASE WHEN f.last_failure_at < now() - make_interval(secs => $2)"
        "                   AND coalesce(f.locked_until, '-infinity') < now() - make_interval(secs => $2)"
        "              THEN 1 ELSE f.failures + 1 END,"
        "  last_failure_at = now()"
        " RETURNING failures",
        key, window_s)
    if failures >= free:
        delay = min(max_s, base_s * 2.0 ** min(failures - free, 30))
        await conn.execute(
            "UPDATE login_failures SET locked_until = now() + make_interval(secs => $2) WHERE key = $1", key, delay)
    return failures


async def forget(conn: Conn, keys: list[str]) -> None:
    await conn.execute("DELETE FROM login_failures WHERE key = ANY($1::text[])", keys)


async def prune(conn: Conn, window_s: float) -> None:
    await conn.execute(
        "DELETE FROM login_failures WHERE last_failure_at < now() - make_interval(secs => $1)"
        " AND coalesce(locked_until, '-infinity') < now()", window_s * 2)


async def remember_client(conn: Conn, user_id: str, client: str) -> None:
    await conn.execute(
        "INSERT INTO login_clients (user_id, client) VALUES ($1, $2)"
        " ON CONFLICT (user_id, client) DO UPDATE SET last_success_at = now()", user_id, client)


async def known_client(conn: Conn, user_id: str, client: str, within_s: float) -> bool:
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM login_clients WHERE user_id = $1 AND client = $2"
        " AND last_success_at > now() - make_interval(secs => $3))", user_id, client, within_s))
