"""Generations: creation, the queue, the job's life from queued to a final status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from services.inference.store.rows import (
    GENERATION_COLUMNS,
    Conn,
    GenerationRow,
    _all,
    _one,
)


async def insert_generation(conn: Conn, row: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO generations (id, owner_id, model_id, version, mode, count, seed, params, watermark_id,"
        " idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)",
        row["id"], row["owner_id"], row["model_id"], row["version"], row["mode"], row["count"], row["seed"],
        row["params"], row.get("watermark_id"), row.get("idempotency_key"),
    )


async def generation_by_idempotency_key(conn: Conn, owner_id: str, key: str) -> GenerationRow | None:
    return _one(GenerationRow, await conn.fetchrow(
        f"SELECT {GENERATION_COLUMNS} FROM generations WHERE owner_id = $1 AND idempotency_key = $2", owner_id, key))


async def get_generation(conn: Conn, generation_id: str) -> GenerationRow | None:
    return _one(GenerationRow, await conn.fetchrow(
        f"SELECT {GENERATION_COLUMNS} FROM generations WHERE id = $1", generation_id))


async def get_generations(conn: Conn, generation_ids: list[str]) -> dict[str, GenerationRow]:
    rows = _all(GenerationRow, await conn.fetch(
        f"SELECT {GENERATION_COLUMNS} FROM generations WHERE id = ANY($1::text[])", generation_ids))
    return {r.id: r for r in rows}


async def lock_generation(conn: asyncpg.Connection, generation_id: str) -> GenerationRow | None:
    return _one(GenerationRow, await conn.fetchrow(
        f"SELECT {GENERATION_COLUMNS} FROM generations WHERE id = $1 FOR UPDATE", generation_id))


async def list_generations(conn: Conn, owner_id: str, before_id: str | None, limit: int) -> list[GenerationRow]:
    return _all(GenerationRow, await conn.fetch(
        f"SELECT {GENERATION_COLUMNS} FROM generations WHERE owner_id = $1 AND ($2::text IS NULL OR id < $2)"
        " ORDER BY id DESC LIMIT $3",
        owner_id, before_id, limit,
    ))


async def generations_by_watermark(conn: Conn, watermark_id: str) -> list[GenerationRow]:
    return _all(GenerationRow, await conn.fetch(
        f"SELECT {GENERATION_COLUMNS} FROM generations WHERE watermark_id = $1 ORDER BY id", watermark_id))


async def mark_running(conn: Conn, generation_id: str) -> None:
    await conn.execute(
        "UPDATE generations SET status = 'running', attempts = attempts + 1,"
        " started_at = coalesce(started_at, now()) WHERE id = $1 AND status IN ('queued', 'running')",
        generation_id,
    )


async def lock_owner(conn: asyncpg.Connection, owner_id: str) -> None:
    """Serialise one user's generation requests until the transaction ends (the per-user limit)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('inference.generations:' || $1))", owner_id)


async def unfinished_of(conn: Conn, owner_id: str) -> int:
    """The user's generations that are queued or running."""
    return int(await conn.fetchval(
        "SELECT count(*) FROM generations WHERE owner_id = $1 AND status IN ('queued', 'running')", owner_id))


@dataclass(frozen=True)
class QueueAhead:
    generations: int  # queued generations ahead
    images: int  # images still to make ahead: those of queued ones ahead plus running ones' missing outputs


async def queue_ahead(conn: Conn, generation_id: str) -> QueueAhead:
    record = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM generations WHERE status = 'queued' AND id < $1) AS generations,"
        " (SELECT coalesce(sum(count), 0) FROM generations WHERE status = 'queued' AND id < $1)"
        " + (SELECT coalesce(sum(g.count - (SELECT count(*) FROM generation_outputs o"
        "    WHERE o.generation_id = g.id)), 0) FROM generations g WHERE g.status = 'running') AS images",
        generation_id)
    return QueueAhead(int(record["generations"]), int(record["images"]))


async def seconds_per_image(conn: Conn, recent: int = 50) -> float | None:
    """Wall seconds per image of the last `recent` generations that succeeded in the past hour."""
    value = await conn.fetchval(
        "SELECT sum(extract(epoch FROM finished_at - started_at)) / nullif(sum(count), 0) FROM"
        " (SELECT finished_at, started_at, count FROM generations WHERE status = 'succeeded'"
        "  AND started_at IS NOT NULL AND finished_at > now() - interval '1 hour'"
        "  ORDER BY finished_at DESC LIMIT $1) recent", recent)
    return None if value is None else float(value)


async def cancel_generation(conn: Conn, generation_id: str) -> bool:
    """Queued or running → canceled; False if it had already finished."""
    done = await conn.execute(
        "UPDATE generations SET status = 'canceled', finished_at = now()"
        " WHERE id = $1 AND status IN ('queued', 'running')", generation_id)
    return bool(done.endswith(" 1"))


async def is_canceled(conn: Conn, generation_id: str) -> bool:
    return bool(await conn.fetchval("SELECT status = 'canceled' FROM generations WHERE id = $1", generation_id))


async def mark_running_many(conn: Conn, generation_ids: list[str]) -> None:
    await conn.execute(
        "UPDATE generations SET status = 'running', attempts = attempts + 1,"
        " started_at = coalesce(started_at, now()) WHERE id = ANY($1::text[]) AND status IN ('queued', 'running')",
        generation_ids,
    )


async def succeed_generations(conn: Conn, generation_ids: list[str]) -> list[GenerationRow]:
    """Move the unfinished ones among `generation_ids` to succeeded; the rows that moved."""
    return _all(GenerationRow, await conn.fetch(
        "UPDATE generations SET status = 'succeeded', error = NULL, finished_at = now()"
        f" WHERE id = ANY($1::text[]) AND status IN ('queued', 'running') RETURNING {GENERATION_COLUMNS}",
        generation_ids,
    ))


async def finish_generation(conn: Conn, generation_id: str, status: str, error: str | None = None) -> bool:
    """Move a generation that is not finished yet to `status`; False if it already was finished."""
    done = await conn.execute(
        "UPDATE generations SET status = $2, error = $3, finished_at = now()"
        " WHERE id = $1 AND status IN ('queued', 'running')",
        generation_id, status, error,
    )
    return bool(done.endswith(" 1"))
