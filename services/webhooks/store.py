"""Every SQL statement of the webhooks service (schema `webhooks`, on the pool's search_path)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

ENDPOINT_COLUMNS = ("id, owner_id, url, description, event_types, secret, previous_secret, "
                    "previous_secret_expires_at, secret_rotated_at, status, disabled_reason, created_at, updated_at")
DELIVERY_COLUMNS = ("id, endpoint_id, event_id, event_type, status, attempts, next_attempt_at, response_status, "
                    "error, latency_ms, created_at, delivered_at")


@dataclass(frozen=True)
class Due:
    """A claimed delivery with what an attempt needs."""

    id: str
    endpoint_id: str
    owner_id: str
    url: str
    body: str
    attempts: int
    manual: bool
    secret: str
    previous_secret: str | None


def endpoint_view(row: asyncpg.Record) -> dict[str, Any]:
    view = dict(row)
    view.pop("owner_id")
    view.pop("secret")
    view.pop("previous_secret")
    view["event_types"] = list(view["event_types"])
    expires = view["previous_secret_expires_at"]
    if expires is not None and expires <= datetime.now(expires.tzinfo):
        view["previous_secret_expires_at"] = None
    return view


async def count_endpoints(conn: asyncpg.Connection, owner_id: str) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM endpoints WHERE owner_id = $1", owner_id))


async def lock_owner(conn: asyncpg.Connection, owner_id: str) -> None:
    """Serialise endpoint creation per user (the limit holds under concurrent requests)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('webhooks-owner:' || $1))", owner_id)


async def insert_endpoint(conn: asyncpg.Connection, endpoint_id: str, owner_id: str, url: str, description: str,
                          event_types: list[str], secret: str) -> asyncpg.Record:
    return await conn.fetchrow(
        f"INSERT INTO endpoints (id, owner_id, url, description, event_types, secret) "
        f"VALUES ($1, $2, $3, $4, $5, $6) RETURNING {ENDPOINT_COLUMNS}",
        endpoint_id, owner_id, url, description, event_types, secret)


async def get_endpoint(conn: asyncpg.Connection | asyncpg.Pool, owner_id: str, endpoint_id: str,
                       ) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE id = $1 AND owner_id = $2",
                               endpoint_id, owner_id)


async def list_endpoints(pool: asyncpg.Pool, owner_id: str, limit: int, before: str | None) -> list[asyncpg.Record]:
    return list(await pool.fetch(
        f"SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE owner_id = $1 AND ($2::text IS NULL OR id < $2) "
        "ORDER BY id DESC LIMIT $3", owner_id, before, limit))


async def update_endpoint(conn: asyncpg.Connection, owner_id: str, endpoint_id: str, fields: dict[str, Any],
                          ) -> asyncpg.Record | None:
    allowed = {"url", "description", "event_types", "status", "disabled_reason"}
    names = [n for n in fields if n in allowed]
    sets = ", ".join(f"{name} = ${i + 3}" for i, name in enumerate(names))
    return await conn.fetchrow(
        f"UPDATE endpoints SET {sets + ', ' if sets else ''}updated_at = now() "
        f"WHERE id = $1 AND owner_id = $2 RETURNING {ENDPOINT_COLUMNS}",
        endpoint_id, owner_id, *(fields[n] for n in names))


async def rotate_secret(conn: asyncpg.Connection, owner_id: str, endpoint_id: str, secret: str, grace_s: int,
                        ) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "UPDATE endpoints SET previous_secret = secret, secret = $3, "
        "previous_secret_expires_at = now() + make_interval(secs => $4), secret_rotated_at = now(), "
        f"updated_at = now() WHERE id = $1 AND owner_id = $2 RETURNING {ENDPOINT_COLUMNS}",
        endpoint_id, owner_id, secret, float(grace_s))


async def delete_endpoint(pool: asyncpg.Pool, owner_id: str, endpoint_id: str) -> bool:
    return bool(await pool.fetchval("DELETE FROM endpoints WHERE id = $1 AND owner_id = $2 RETURNING true",
                                    endpoint_id, owner_id))


async def delete_owner(pool: asyncpg.Pool, owner_id: str) -> int:
    return int(await pool.fetchval(
        "WITH gone AS (DELETE FROM endpoints WHERE owner_id = $1 RETURNING 1) SELECT count(*) FROM gone", owner_id))


async def subscribed_endpoints(conn: asyncpg.Connection, event_type: str, owner_id: str | None, public: bool,
                               created_before: datetime) -> list[str]:
    """Enabled endpoints subscribed to `event_type` whose owner may see the event (`owner_id`'s, or
    anyone's when it is public), created before `created_before`."""
    rows = await conn.fetch(
        "SELECT id FROM endpoints WHERE status = 'enabled' AND event_types @> ARRAY[$1::text] "
        "AND ($3 OR owner_id = $2) AND created_at <= $4", event_type, owner_id, public, created_before)
    return [r["id"] for r in rows]


async def insert_deliveries(conn: asyncpg.Connection, rows: list[tuple[str, str, str, str, str]]) -> int:
    """(id, endpoint_id, event_id, event_type, body) each, due now; an event already recorded for an
    endpoint (a redelivered message) is skipped."""
    if not rows:
        return 0
    result = await conn.fetch(
        "INSERT INTO deliveries (id, endpoint_id, event_id, event_type, body, next_attempt_at) "
        "SELECT d.id, d.endpoint_id, d.event_id, d.event_type, d.body, now() "
        "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) "
        "AS d(id, endpoint_id, event_id, event_type, body) "
        "ON CONFLICT (endpoint_id, event_id) DO NOTHING RETURNING id",
        *(list(col) for col in zip(*rows, strict=True)))
    return len(result)


async def get_delivery(conn: asyncpg.Connection | asyncpg.Pool, endpoint_id: str, delivery_id: str,
                       ) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1 AND endpoint_id = $2",
                               delivery_id, endpoint_id)


async def list_deliveries(pool: asyncpg.Pool, endpoint_id: str, status: str | None, limit: int, before: str | None,
                          ) -> list[asyncpg.Record]:
    return list(await pool.fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE endpoint_id = $1 AND ($2::text IS NULL OR status = $2) "
        "AND ($3::text IS NULL OR id < $3) ORDER BY id DESC LIMIT $4", endpoint_id, status, before, limit))


async def retry_now(conn: asyncpg.Connection, endpoint_id: str, delivery_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "UPDATE deliveries SET status = 'pending', manual = (status <> 'pending' OR manual), "
        "next_attempt_at = now(), locked_until = NULL "
        f"WHERE id = $1 AND endpoint_id = $2 RETURNING {DELIVERY_COLUMNS}", delivery_id, endpoint_id)


async def claim_due(pool: asyncpg.Pool, limit: int, lease_s: float, busy: list[str]) -> list[Due]:
    """Claim up to `limit` due deliveries of enabled endpoints that are not in `busy` (endpoints this
    process already has its fill of attempts for), oldest due first; other replicas skip them."""
    rows = await pool.fetch(
        "WITH due AS (SELECT d.id FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id "
        "  WHERE d.status = 'pending' AND d.next_attempt_at <= now() "
        "  AND (d.locked_until IS NULL OR d.locked_until < now()) AND e.status = 'enabled' "
        "  AND NOT (d.endpoint_id = ANY($3::text[])) "
        "  ORDER BY d.next_attempt_at LIMIT $1 FOR UPDATE OF d SKIP LOCKED) "
        "UPDATE deliveries d SET locked_until = now() + make_interval(secs => $2) FROM due, endpoints e "
        "WHERE d.id = due.id AND e.id = d.endpoint_id "
        "RETURNING d.id, d.endpoint_id, e.owner_id, e.url, d.body, d.attempts, d.manual, e.secret, "
        "CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret END AS previous_secret",
        limit, lease_s, busy)
    return [Due(**dict(r)) for r in rows]


async def renew_claims(pool: asyncpg.Pool, delivery_ids: list[str], lease_s: float) -> None:
    """Extend the leases of deliveries still being attempted (one settled meanwhile has no lease left
    to extend: its `locked_until` is NULL)."""
    await pool.execute(
        "UPDATE deliveries SET locked_until = now() + make_interval(secs => $2) "
        "WHERE id = ANY($1::text[]) AND status = 'pending' AND locked_until IS NOT NULL", delivery_ids, lease_s,
        timeout=max(lease_s / 3, 1.0))


async def record_success(pool: asyncpg.Pool, delivery_id: str, status: int, latency_ms: float) -> None:
    await pool.execute(
        "UPDATE deliveries SET status = 'succeeded', attempts = attempts + 1, response_status = $2, error = NULL, "
        "latency_ms = $3, delivered_at = now(), next_attempt_at = NULL, locked_until = NULL, manual = false "
        "WHERE id = $1", delivery_id, status, latency_ms)


async def record_failure(conn: asyncpg.Connection, delivery_id: str, status: int | None, error: str,
                         latency_ms: float, retry_in_s: float | None) -> None:
    """A failed attempt: due again in `retry_in_s`, or failed for good when None."""
    await conn.execute(
        "UPDATE deliveries SET attempts = attempts + 1, response_status = $2, error = $3, latency_ms = $4, "
        "status = CASE WHEN $5::float8 IS NULL THEN 'failed' ELSE 'pending' END, manual = false, "
        "next_attempt_at = CASE WHEN $5::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => $5) END, "
        "locked_until = NULL WHERE id = $1", delivery_id, status, error, latency_ms, retry_in_s)


async def disable_endpoint(conn: asyncpg.Connection, endpoint_id: str, reason: str) -> asyncpg.Record | None:
    """Switch off an enabled endpoint; None when it was disabled (or deleted) already."""
    return await conn.fetchrow(
        "UPDATE endpoints SET status = 'disabled', disabled_reason = $2, updated_at = now() "
        f"WHERE id = $1 AND status = 'enabled' RETURNING {ENDPOINT_COLUMNS}", endpoint_id, reason)


async def replay(conn: asyncpg.Connection, endpoint_id: str, since: datetime, limit: int) -> int:
    """Make the endpoint's settled deliveries created since `since` due now, one attempt each."""
    rows = await conn.fetch(
        "UPDATE deliveries SET status = 'pending', manual = true, next_attempt_at = now(), locked_until = NULL "
        "WHERE id IN (SELECT id FROM deliveries WHERE endpoint_id = $1 AND created_at >= $2 AND status <> 'pending' "
        "ORDER BY id LIMIT $3) RETURNING id", endpoint_id, since, limit)
    return len(rows)
