"""Style models and their versions, as inference knows them from the trainer's events."""

from __future__ import annotations

from typing import Any

from services.inference.store.rows import (
    MODEL_COLUMNS,
    VERSION_COLUMNS,
    Conn,
    ModelRow,
    VersionRow,
    _one,
)


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
