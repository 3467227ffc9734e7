"""All SQL of the trainer service (schema `trainer`, set as the pool's search_path).

Rows come out typed (`ModelRow`, `JobRow`, `VersionRow`, `ModelListRow`); jsonb columns are Python
values through the pool's jsonb codec (shared/db.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import asyncpg

from shared.contracts.trainer import Architecture, JobKind, ModelStatus

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool
ACTIVE = ("queued", "running")
TERMINAL = ("succeeded", "failed", "canceled")
if TYPE_CHECKING:
    from _typeshed import DataclassInstance
R = TypeVar("R", bound="DataclassInstance")


@dataclasses.dataclass(frozen=True)
class ModelRow:
    id: str
    owner_id: str
    name: str
    architecture: Architecture
    image_size: int
    width: int
    work_ids: list[str]
    collection_id: str | None
    asset_ids: list[str]
    idempotency_key: str | None
    created_at: datetime
    visibility: str = "private"
    training_mining: str = "notAllowed"
    licence: str = "LicenseRef-All-Rights-Reserved"
    licence_terms: str = ""
    commercial_use: bool = False


@dataclasses.dataclass(frozen=True)
class JobRow:
    id: str
    model_id: str
    owner_id: str
    version: int
    kind: JobKind
    base_version: int | None
    status: ModelStatus
    steps: int
    batch_size: int
    augment: bool | None
    seed: int
    min_score: int | None
    extra_asset_ids: list[str] | None
    liked_asset_ids: list[str] | None
    step: int
    losses: dict[str, float]
    eta_s: float | None
    checkpoint_step: int | None
    resumed_from_step: int | None
    attempts: int
    worker_pid: int | None
    cancel_requested: bool
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    runner: str


@dataclasses.dataclass(frozen=True)
class VersionRow:
    model_id: str
    version: int
    job_id: str
    steps: int
    metrics: dict[str, Any]
    dataset_sha256: str
    repository_path: str
    sample_asset_id: str | None
    created_at: datetime
    status: str = "active"
    withdrawn_work_ids: list[str] = dataclasses.field(default_factory=list)
    withdrawn_at: datetime | None = None


@dataclasses.dataclass(frozen=True)
class TrainingWorkRow:
    """A work a model was created on."""

    work_id: str
    author_id: str
    asset_ids: list[str]


@dataclasses.dataclass(frozen=True)
class ModelListRow:
    """A model in the owner's list, with its latest job's status and step (null without a job)."""

    id: str
    name: str
    architecture: Architecture
    image_size: int
    created_at: datetime
    status: ModelStatus | None
    step: int | None
    total_steps: int | None
    version_numbers: list[int]
    withdrawn_versions: list[int]  # of version_numbers, those whose consent was withdrawn


def _typed(cls: type[R], record: asyncpg.Record) -> R:
    """A row as `cls`: the dataclass's fields taken from the record by name (extra columns ignored)."""
    return cls(**{f.name: record[f.name] for f in dataclasses.fields(cls)})


def _typed_or_none(cls: type[R], record: asyncpg.Record | None) -> R | None:
    return None if record is None else _typed(cls, record)


async def lock_owner(conn: asyncpg.Connection, owner_id: str) -> None:
    """Serialise job creation per user so the active-jobs limit cannot be raced past."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('trainer-owner:' || $1))", owner_id)


async def active_jobs(conn: Conn, owner_id: str) -> int:
    return int(await conn.fetchval(
        "SELECT count(*) FROM jobs WHERE owner_id = $1 AND status = ANY($2::text[])", owner_id, list(ACTIVE)))


async def model_by_idempotency_key(conn: Conn, owner_id: str, key: str) -> ModelRow | None:
    return _typed_or_none(ModelRow, await conn.fetchrow(
        "SELECT * FROM models WHERE owner_id = $1 AND idempotency_key = $2", owner_id, key))


async def insert_model(conn: Conn, m: Mapping[str, Any]) -> ModelRow:
    return _typed(ModelRow, await conn.fetchrow(
        "INSERT INTO models (id, owner_id, name, architecture, image_size, width, work_ids, collection_id,"
        " asset_ids, idempotency_key, licence, licence_terms, commercial_use)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING *",
        m["id"], m["owner_id"], m["name"], m["architecture"], m["image_size"], m["width"], m["work_ids"],
        m.get("collection_id"), m["asset_ids"], m.get("idempotency_key"),
        m.get("licence") or "LicenseRef-All-Rights-Reserved", m.get("licence_terms") or "",
        bool(m.get("commercial_use")),
    ))


async def insert_job(conn: Conn, j: Mapping[str, Any]) -> JobRow:
    return _typed(JobRow, await conn.fetchrow(
        "INSERT INTO jobs (id, model_id, owner_id, version, kind, base_version, steps, batch_size, augment, seed,"
        " min_score) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *",
        j["id"], j["model_id"], j["owner_id"], j["version"], j["kind"], j.get("base_version"), j["steps"],
        j["batch_size"], j.get("augment"), j.get("seed", 0), j.get("min_score"),
    ))


async def get_model(conn: Conn, model_id: str) -> ModelRow | None:
    return _typed_or_none(ModelRow, await conn.fetchrow("SELECT * FROM models WHERE id = $1", model_id))


async def latest_job(conn: Conn, model_id: str) -> JobRow | None:
    return _typed_or_none(JobRow, await conn.fetchrow(
        "SELECT * FROM jobs WHERE model_id = $1 ORDER BY version DESC LIMIT 1", model_id))


async def first_train_job(conn: Conn, model_id: str) -> JobRow | None:
    return _typed_or_none(JobRow, await conn.fetchrow(
        "SELECT * FROM jobs WHERE model_id = $1 AND kind = 'train' ORDER BY version LIMIT 1", model_id))


async def next_version(conn: Conn, model_id: str) -> int:
    return int(await conn.fetchval("SELECT coalesce(max(version), 0) + 1 FROM jobs WHERE model_id = $1", model_id))


async def versions(conn: Conn, model_id: str) -> list[VersionRow]:
    rows = await conn.fetch("SELECT * FROM versions WHERE model_id = $1 ORDER BY version", model_id)
    return [_typed(VersionRow, r) for r in rows]


async def latest_version(conn: Conn, model_id: str) -> VersionRow | None:
    return _typed_or_none(VersionRow, await conn.fetchrow(
        "SELECT * FROM versions WHERE model_id = $1 ORDER BY version DESC LIMIT 1", model_id))


async def sample_ids(conn: Conn, model_id: str, limit: int = 50) -> list[str]:
    rows = await conn.fetch("SELECT asset_id FROM samples WHERE model_id = $1 ORDER BY created_at DESC, step DESC"
                            " LIMIT $2", model_id, limit)
    return [str(r["asset_id"]) for r in rows]


async def list_models(conn: Conn, owner_id: str, limit: int, before: str | None) -> list[ModelListRow]:
    """The owner's models, newest first (ids are ULIDs), each with its latest job."""
    rows = await conn.fetch(
        "SELECT m.*, j.status, j.step, j.steps AS total_steps, j.version AS job_version,"
        " array(SELECT version FROM versions v WHERE v.model_id = m.id ORDER BY version) AS version_numbers,"
        " array(SELECT version FROM versions v WHERE v.model_id = m.id AND v.status = 'consent_withdrawn'"
        "   ORDER BY version) AS withdrawn_versions"
        " FROM models m LEFT JOIN LATERAL (SELECT status, step, steps, version FROM jobs"
        "   WHERE jobs.model_id = m.id ORDER BY version DESC LIMIT 1) j ON true"
        " WHERE m.owner_id = $1 AND ($2::text IS NULL OR m.id < $2) ORDER BY m.id DESC LIMIT $3",
        owner_id, before, limit,
    )
    return [_typed(ModelListRow, r) for r in rows]


async def get_job(conn: Conn, job_id: str, *, for_update: bool = False) -> JobRow | None:
    return _typed_or_none(JobRow, await conn.fetchrow(
        "SELECT * FROM jobs WHERE id = $1" + (" FOR UPDATE" if for_update else ""), job_id))


async def start_attempt(conn: Conn, job_id: str, runner: str = "worker") -> JobRow | None:
    """Mark a job running (again) for `runner` unless it ended or another kind of runner has it.

    A DDP run takes only a queued job (or its own, when its pods restart)."""
    return _typed_or_none(JobRow, await conn.fetchrow(
        "UPDATE jobs SET status = 'running', runner = $3, attempts = attempts + 1,"
        " started_at = coalesce(started_at, now()), error = NULL"
        " WHERE id = $1 AND status = ANY($2::text[]) AND (status = 'queued' OR runner = $3)"
        " AND (runner = $3 OR $3 = 'ddp') RETURNING *", job_id, list(ACTIVE), runner))


async def set_extra_assets(conn: Conn, job_id: str, asset_ids: list[str], liked: list[str]) -> None:
    """Fixed on the job's first attempt: a resumed attempt trains on the same dataset."""
    await conn.execute("UPDATE jobs SET extra_asset_ids = $2, liked_asset_ids = $3"
                       " WHERE id = $1 AND extra_asset_ids IS NULL", job_id, asset_ids, liked)


async def set_worker(conn: Conn, job_id: str, pid: int | None) -> None:
    await conn.execute("UPDATE jobs SET worker_pid = $2 WHERE id = $1", job_id, pid)


async def set_resumed(conn: Conn, job_id: str, step: int) -> None:
    await conn.execute("UPDATE jobs SET resumed_from_step = $2, step = greatest(step, $2) WHERE id = $1",
                       job_id, step)


async def set_progress(conn: Conn, job_id: str, step: int, losses: dict[str, float], eta_s: float | None) -> None:
    await conn.execute("UPDATE jobs SET step = $2, losses = $3, eta_s = $4 WHERE id = $1", job_id, step, losses,
                       eta_s)


async def set_checkpoint_step(conn: Conn, job_id: str, step: int) -> None:
    await conn.execute("UPDATE jobs SET checkpoint_step = $2 WHERE id = $1", job_id, step)


async def cancel_requested(conn: Conn, job_id: str) -> bool:
    return bool(await conn.fetchval("SELECT cancel_requested FROM jobs WHERE id = $1", job_id))


async def request_cancel(conn: Conn, job_id: str) -> None:
    await conn.execute("UPDATE jobs SET cancel_requested = true WHERE id = $1", job_id)


async def requeue(conn: Conn, job_id: str, step: int | None = None) -> None:
    """The worker stopped for shutdown: the job waits for its redelivery."""
    await conn.execute("UPDATE jobs SET status = 'queued', worker_pid = NULL, step = coalesce($2, step)"
                       " WHERE id = $1 AND status = 'running'", job_id, step)


async def finish(conn: Conn, job_id: str, status: str, *, error: str | None = None, step: int | None = None) -> bool:
    """End an active job; False when it had already ended (a duplicate delivery)."""
    row = await conn.fetchrow(
        "UPDATE jobs SET status = $2, error = $3, step = coalesce($4, step), finished_at = now(), worker_pid = NULL,"
        " eta_s = CASE WHEN $2 = 'succeeded' THEN 0 ELSE eta_s END"
        " WHERE id = $1 AND status = ANY($5::text[]) RETURNING id",
        job_id, status, error, step, list(ACTIVE))
    return row is not None


async def insert_version(conn: Conn, v: Mapping[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO versions (model_id, version, job_id, steps, metrics, dataset_sha256, repository_path,"
        " sample_asset_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        v["model_id"], v["version"], v["job_id"], v["steps"], v["metrics"], v["dataset_sha256"],
        v["repository_path"], v.get("sample_asset_id"),
    )


async def insert_sample(conn: Conn, asset_id: str, model_id: str, job_id: str, step: int) -> None:
    await conn.execute("INSERT INTO samples (asset_id, model_id, job_id, step) VALUES ($1, $2, $3, $4)"
                       " ON CONFLICT DO NOTHING", asset_id, model_id, job_id, step)


@dataclasses.dataclass(frozen=True)
class ServableModelRow:
    model_id: str
    name: str
    work_ids: list[str]
    version: int
    repository_path: str


async def servable_models_with_works(conn: Conn, owner_id: str, work_ids: list[str],
                                     limit: int) -> list[ServableModelRow]:
    """The owner's models trained on any of `work_ids` whose latest version is active (can be
    generated from), newest first."""
    rows = await conn.fetch(
        "SELECT m.id AS model_id, m.name, m.work_ids, v.version, v.repository_path FROM models m"
        " JOIN LATERAL (SELECT * FROM versions v WHERE v.model_id = m.id ORDER BY v.version DESC LIMIT 1) v ON true"
        " WHERE m.owner_id = $1 AND m.work_ids && $2::text[] AND v.status = 'active'"
        " ORDER BY m.created_at DESC, m.id LIMIT $3", owner_id, work_ids, limit)
    return [_typed(ServableModelRow, r) for r in rows]
