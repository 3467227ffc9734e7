"""All SQL of the inference service (schema `inference`; the pool's search_path points at it).

Reads answer typed rows (frozen dataclasses), never raw `asyncpg.Record`s; jsonb columns travel as
Python values (the pool's json codec encodes and decodes them).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeAlias, TypeVar

import asyncpg

from shared.contracts.inference import Mode

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool
Row = TypeVar("Row")


@dataclass(frozen=True)
class ModelRow:
    model_id: str
    owner_id: str
    visibility: str  # "private" | "public"
    updated_at: datetime
    training_mining: str = "notAllowed"  # the CAWG `use` its images' manifests declare


@dataclass(frozen=True)
class VersionRow:
    model_id: str
    version: int
    architecture: str
    image_size: int
    repository_path: str
    metrics: dict[str, Any]
    status: str  # "training" | "ready" | "failed" | "withdrawn" (training consent withdrawn: 410)
    error: str | None
    created_at: datetime
    dataset_sha256: str | None = None


@dataclass(frozen=True)
class GenerationRow:
    id: str
    owner_id: str
    model_id: str
    version: int
    mode: Mode
    count: int
    seed: int
    params: dict[str, Any]
    status: str  # "queued" | "running" | "succeeded" | "failed" | "canceled"
    error: str | None
    watermark_id: str | None
    idempotency_key: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class OutputRow:
    generation_id: str
    index: int
    asset_id: str
    seed: int
    image_sha256: str
    signed_sha256: str
    width: int
    height: int
    score: int | None
    rated_at: datetime | None
    created_at: datetime
    originality: dict[str, Any] | None = None


@dataclass(frozen=True)
class RatedOutputRow:
    generation_id: str
    index: int
    asset_id: str
    score: int | None
    seed: int
    version: int
    likes: int


def _columns(row_type: type[Any], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + f.name for f in fields(row_type))


def _one(row_type: type[Row], record: asyncpg.Record | None) -> Row | None:
    return None if record is None else row_type(**dict(record))


def _all(row_type: type[Row], records: list[asyncpg.Record]) -> list[Row]:
    return [row_type(**dict(r)) for r in records]


MODEL_COLUMNS = _columns(ModelRow)
VERSION_COLUMNS = _columns(VersionRow)
GENERATION_COLUMNS = _columns(GenerationRow)
OUTPUT_COLUMNS = _columns(OutputRow)

# --- models ----------------------------------------------------------------------------------------


async def upsert_model(conn: Conn, model_id: str, owner_id: str, visibility: str | None) -> None:
    """Record a model and its owner; `visibility` None keeps what is known (private by default)."""
    await conn.execute(
        "INSERT INTO models (model_id, owner_id, visibility) VALUES ($1, $2, coalesce($3, 'private'))"
        " ON CONFLICT (model_id) DO UPDATE SET owner_id = EXCLUDED.owner_id,"
        " visibility = coalesce($3, models.visibility), updated_at = now()",
        model_id, owner_id, visibility,
    )


async def upsert_version(conn: Conn, row: dict[str, Any]) -> None:
    metrics = row.get("metrics") or {}
    await conn.execute(
        "INSERT INTO model_versions (model_id, version, architecture, image_size, repository_path, metrics,"
        " status, error) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)"
        " ON CONFLICT (model_id, version) DO UPDATE SET architecture = EXCLUDED.architecture,"
        " image_size = EXCLUDED.image_size, repository_path = EXCLUDED.repository_path,"
        " metrics = EXCLUDED.metrics,"
        # A withdrawn version stays withdrawn, whatever event is replayed after the withdrawal.
        " status = CASE WHEN model_versions.status = 'withdrawn' THEN 'withdrawn' ELSE EXCLUDED.status END,"
        " error = CASE WHEN model_versions.status = 'withdrawn' THEN model_versions.error ELSE EXCLUDED.error END",
        row["model_id"], row["version"], row["architecture"], row["image_size"], row["repository_path"],
        metrics, row["status"], row.get("error"),
    )


async def insert_training_version(conn: Conn, row: dict[str, Any]) -> None:
    """A version the trainer has queued; never overwrites what a later event already recorded."""
    await conn.execute(
        "INSERT INTO model_versions (model_id, version, architecture, image_size, repository_path, status)"
        " VALUES ($1, $2, $3, $4, $5, 'training') ON CONFLICT (model_id, version) DO NOTHING",
        row["model_id"], row["version"], row["architecture"], row["image_size"], row["repository_path"],
    )


async def record_trained_version(conn: Conn, row: dict[str, Any]) -> bool:
    """A version the trainer's record says is trained (its event is still in flight): servable.

    Only a version unknown here or still `training` becomes `ready`; one found unservable stays failed.
    """
    done = await conn.execute(
        "INSERT INTO model_versions (model_id, version, architecture, image_size, repository_path, metrics,"
        " status) VALUES ($1, $2, $3, $4, $5, $6::jsonb, 'ready') ON CONFLICT (model_id, version) DO UPDATE"
        " SET architecture = EXCLUDED.architecture, image_size = EXCLUDED.image_size,"
        " repository_path = EXCLUDED.repository_path, metrics = EXCLUDED.metrics, status = 'ready', error = NULL"
        " WHERE model_versions.status = 'training'",
        row["model_id"], row["version"], row["architecture"], row["image_size"], row["repository_path"],
        row.get("metrics") or {},
    )
    return bool(done.endswith(" 1"))


async def get_model(conn: Conn, model_id: str) -> ModelRow | None:
    return _one(ModelRow, await conn.fetchrow(f"SELECT {MODEL_COLUMNS} FROM models WHERE model_id = $1", model_id))


async def get_version(conn: Conn, model_id: str, version: int) -> VersionRow | None:
    return _one(VersionRow, await conn.fetchrow(
        f"SELECT {VERSION_COLUMNS} FROM model_versions WHERE model_id = $1 AND version = $2", model_id, version))


async def latest_ready_version(conn: Conn, model_id: str) -> VersionRow | None:
    return _one(VersionRow, await conn.fetchrow(
        f"SELECT {VERSION_COLUMNS} FROM model_versions WHERE model_id = $1 AND status = 'ready'"
        " ORDER BY version DESC LIMIT 1", model_id))


async def latest_version(conn: Conn, model_id: str) -> VersionRow | None:
    return _one(VersionRow, await conn.fetchrow(
        f"SELECT {VERSION_COLUMNS} FROM model_versions WHERE model_id = $1 ORDER BY version DESC LIMIT 1",
        model_id))


async def set_model_settings(conn: Conn, model_id: str, owner_id: str, visibility: str, training_mining: str) -> None:
    await conn.execute(
        "INSERT INTO models (model_id, owner_id, visibility, training_mining) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (model_id) DO UPDATE SET visibility = $3, training_mining = $4, updated_at = now()",
        model_id, owner_id, visibility, training_mining)


async def set_version_dataset(conn: Conn, model_id: str, version: int, dataset_sha256: str | None) -> None:
    await conn.execute("UPDATE model_versions SET dataset_sha256 = $3 WHERE model_id = $1 AND version = $2",
                       model_id, version, dataset_sha256)


async def withdraw_version(conn: Conn, model_id: str, version: int, owner_id: str, reason: str) -> None:
    """The version is never served again (known or not yet: a later trained event cannot revive it)."""
    await conn.execute(
        "INSERT INTO models (model_id, owner_id) VALUES ($1, $2) ON CONFLICT (model_id) DO NOTHING",
        model_id, owner_id)
    await conn.execute(
        "INSERT INTO model_versions (model_id, version, architecture, image_size, repository_path, status, error)"
        " VALUES ($1, $2, 'unknown', 1, '', 'withdrawn', $3) ON CONFLICT (model_id, version)"
        " DO UPDATE SET status = 'withdrawn', error = $3", model_id, version, reason)


# --- generations -----------------------------------------------------------------------------------


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


# --- outputs ---------------------------------------------------------------------------------------


async def insert_output(conn: Conn, row: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO generation_outputs (generation_id, index, asset_id, seed, image_sha256, signed_sha256,"
        " width, height, originality) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) ON CONFLICT DO NOTHING",
        row["generation_id"], row["index"], row["asset_id"], row["seed"], row["image_sha256"],
        row["signed_sha256"], row["width"], row["height"], row.get("originality"),
    )


async def insert_outputs(conn: Conn, rows: list[dict[str, Any]]) -> None:
    """Several outputs in one statement (an output stored by an earlier attempt is kept)."""
    if rows:
        await conn.executemany(
            "INSERT INTO generation_outputs (generation_id, index, asset_id, seed, image_sha256, signed_sha256,"
            " width, height, originality) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) ON CONFLICT DO NOTHING",
            [(r["generation_id"], r["index"], r["asset_id"], r["seed"], r["image_sha256"], r["signed_sha256"],
              r["width"], r["height"], r.get("originality")) for r in rows],
        )


async def outputs_of(conn: Conn, generation_ids: list[str]) -> list[OutputRow]:
    return _all(OutputRow, await conn.fetch(
        f"SELECT {OUTPUT_COLUMNS} FROM generation_outputs WHERE generation_id = ANY($1::text[])"
        " ORDER BY generation_id, index",
        generation_ids,
    ))


async def output_by_signed_sha256(conn: Conn, sha256: str) -> OutputRow | None:
    return _one(OutputRow, await conn.fetchrow(
        f"SELECT {OUTPUT_COLUMNS} FROM generation_outputs WHERE signed_sha256 = $1 ORDER BY created_at LIMIT 1",
        sha256))


async def rate_output(conn: Conn, generation_id: str, index: int, score: int) -> bool:
    done = await conn.execute(
        "UPDATE generation_outputs SET score = $3, rated_at = now() WHERE generation_id = $1 AND index = $2",
        generation_id, index, score,
    )
    return bool(done.endswith(" 1"))


async def top_rated(conn: Conn, model_id: str, owner_id: str, min_score: int, limit: int) -> list[RatedOutputRow]:
    """Outputs of `model_id` that `owner_id` generated and either rated at least `min_score` or
    published and others liked, with the likes each received (the owner's own like does not count)."""
    return _all(RatedOutputRow, await conn.fetch(
        "SELECT o.generation_id, o.index, o.asset_id,"
        "  CASE WHEN o.score >= $3 THEN o.score END AS score, o.seed, g.version,"
        "  (SELECT count(*) FROM output_likes l WHERE l.work_id = o.work_id AND l.user_id <> $2)::int AS likes"
        " FROM generation_outputs o JOIN generations g ON g.id = o.generation_id"
        " WHERE g.model_id = $1 AND g.owner_id = $2 AND (o.score >= $3 OR EXISTS ("
        "   SELECT 1 FROM output_likes l WHERE l.work_id = o.work_id AND l.user_id <> $2))"
        " ORDER BY o.score DESC NULLS LAST, o.rated_at DESC NULLS LAST, o.generation_id, o.index LIMIT $4",
        model_id, owner_id, min_score, limit,
    ))


async def set_published_work(conn: Conn, generation_id: str, index: int, work_id: str) -> None:
    await conn.execute("UPDATE generation_outputs SET work_id = $3 WHERE generation_id = $1 AND index = $2",
                       generation_id, index, work_id)


async def record_like(conn: Conn, work_id: str, user_id: str, liked: bool) -> None:
    """A like or unlike of a community work; only works published from an output are kept."""
    if liked:
        await conn.execute(
            "INSERT INTO output_likes (work_id, user_id) SELECT $1, $2"
            " WHERE EXISTS (SELECT 1 FROM generation_outputs WHERE work_id = $1) ON CONFLICT DO NOTHING",
            work_id, user_id)
    else:
        await conn.execute("DELETE FROM output_likes WHERE work_id = $1 AND user_id = $2", work_id, user_id)


async def forget_work(pool: asyncpg.Pool, work_id: str) -> None:
    """A published work was deleted: it no longer speaks for its output."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM output_likes WHERE work_id = $1", work_id)
        await conn.execute("UPDATE generation_outputs SET work_id = NULL WHERE work_id = $1", work_id)
