"""Login failure counters and known clients (the SQL of `services.community.login_guard`)."""

from __future__ import annotations

from datetime import datetime

from services.community.store.rows import Conn


async def charge(conn: Conn, key: str, window_s: float, free: int, base_s: float, max_s: float) -> datetime | None:
    """Count one attempt of `key` as a failure, unless it is locked: then count nothing and return
    when the lock ends. The attempt that reaches `free` locks the key for base * 2^(failures - free)
    seconds (at most `max_s`); a counter idle for `window_s` starts over. Run in a transaction: the
    row stays locked (FOR UPDATE) until it commits, so concurrent attempts on a key are counted one
    after the other, each seeing the lock the previous one set."""
    await conn.execute("INSERT INTO login_failures (key, failures, last_failure_at) VALUES ($1, 0, now())"
                       " ON CONFLICT (key) DO NOTHING", key)
    row = await conn.fetchrow(
        "SELECT failures, locked_until, coalesce(locked_until > now(), false) AS locked,"
        " (last_failure_at < now() - make_interval(secs => $2)"
        "  AND coalesce(locked_until, '-infinity') < now() - make_interval(secs => $2)) AS idle"
        " FROM login_failures WHERE key = $1 FOR UPDATE", key, window_s)
    if row["locked"]:
        until: datetime = row["locked_until"]
        return until
    failures = 1 if row["idle"] else row["failures"] + 1
    delay = min(max_s, base_s * 2.0 ** min(failures - free, 30)) if failures >= free else None
    await conn.execute(
        "UPDATE login_failures SET failures = $2, last_failure_at = now(),"
        " locked_until = CASE WHEN $3::float8 IS NULL THEN locked_until ELSE now() + make_interval(secs => $3) END"
        " WHERE key = $1", key, failures, delay)
    return None


async def refund(conn: Conn, key: str, free: int) -> None:
    """Give back one charged attempt (it was a success); a lock it caused is lifted."""
    await conn.execute(
        "UPDATE login_failures SET failures = greatest(failures - 1, 0),"
        " locked_until = CASE WHEN failures - 1 < $2 THEN NULL ELSE locked_until END WHERE key = $1", key, free)


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
