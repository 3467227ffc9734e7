"""The trainer's SQL for consent and sharing (schema `trainer`): the works a model was created on,
the training record of each version, withdrawals, generation counts, public listings."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from services.trainer.store import Conn, ModelListRow, ModelRow, TrainingWorkRow, _typed


@dataclasses.dataclass(frozen=True)
class AffectedVersion:
    """A version that just lost consent, with the withdrawn works of its training set."""

    model_id: str
    owner_id: str
    version: int
    work_ids: list[str]
    withdrawn_at: datetime


@dataclasses.dataclass(frozen=True)
class UseRow:
    """One (work, model version) pair of an author's training uses."""

    work_id: str
    withdrawn: bool
    model_id: str
    name: str
    owner_id: str
    visibility: str
    version: int
    share: float
    status: str
    withdrawn_at: datetime | None
    generations: int


async def insert_model_works(conn: Conn, model_id: str, works: Sequence[tuple[str, str, list[str]]]) -> None:
    """(work_id, author_id, asset_ids) of each work a model was created on."""
    await conn.executemany(
        "INSERT INTO model_works (model_id, work_id, author_id, asset_ids) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING", [(model_id, w, a, list(assets)) for w, a, assets in works])


async def model_works(conn: Conn, model_id: str) -> list[TrainingWorkRow]:
    rows = await conn.fetch("SELECT work_id, author_id, asset_ids FROM model_works WHERE model_id = $1"
                            " ORDER BY work_id", model_id)
    return [_typed(TrainingWorkRow, r) for r in rows]


async def record_version_works(conn: asyncpg.Connection, model: ModelRow, version: int, images_total: int) -> None:
    """The training record of a new version: the model's current works, with their share of the images."""
    await conn.execute(
        "INSERT INTO version_works (model_id, version, work_id, author_id, images, share)"
        " SELECT model_id, $2, work_id, author_id, cardinality(asset_ids),"
        "  cardinality(asset_ids)::float8 / greatest($4, 1)"
        " FROM model_works WHERE model_id = $1 AND work_id = ANY($3::text[]) ON CONFLICT DO NOTHING",
        model.id, version, list(model.work_ids), images_total)


async def version_works(conn: Conn, model_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT version, work_id, author_id, images, share FROM version_works"
                            " WHERE model_id = $1 ORDER BY version, share DESC, work_id", model_id)
    return [dict(r) for r in rows]


async def withdraw_works(conn: asyncpg.Connection, works: Sequence[tuple[str, str]], reason: str) -> None:
    """Record (work_id, author_id) pairs as withdrawn; a work already withdrawn keeps its first reason."""
    await conn.executemany("INSERT INTO withdrawals (work_id, author_id, reason) VALUES ($1, $2, $3)"
                           " ON CONFLICT (work_id) DO NOTHING", [(w, a, reason) for w, a in works])


async def restore_consent(conn: Conn, work_id: str) -> None:
    """Consent given again: later versions may train on the work (withdrawn versions stay withdrawn)."""
    await conn.execute("DELETE FROM withdrawals WHERE work_id = $1 AND reason = 'consent_withdrawn'", work_id)


async def restore_account_consent(conn: Conn, author_id: str) -> None:
    await conn.execute("DELETE FROM withdrawals WHERE author_id = $1 AND reason = 'account_consent_withdrawn'",
                       author_id)


async def works_of_author(conn: Conn, author_id: str) -> list[str]:
    rows = await conn.fetch("SELECT DISTINCT work_id FROM model_works WHERE author_id = $1", author_id)
    return [str(r["work_id"]) for r in rows]


async def mark_withdrawn_versions(conn: asyncpg.Connection, model_id: str | None = None) -> list[AffectedVersion]:
    """Every active version (of `model_id`, or all) trained on a withdrawn work becomes `consent_withdrawn`."""
    rows = await conn.fetch(
        "WITH hit AS (SELECT vw.model_id, vw.version, array_agg(vw.work_id ORDER BY vw.work_id) AS work_ids"
        "   FROM version_works vw JOIN withdrawals w ON w.work_id = vw.work_id"
        "   JOIN versions v ON v.model_id = vw.model_id AND v.version = vw.version"
        "   WHERE v.status = 'active' AND ($1::text IS NULL OR vw.model_id = $1)"
        "   GROUP BY vw.model_id, vw.version)"
        " UPDATE versions v SET status = 'consent_withdrawn', withdrawn_work_ids = hit.work_ids,"
        "  withdrawn_at = now()"
        " FROM hit, models m WHERE v.model_id = hit.model_id AND v.version = hit.version AND m.id = v.model_id"
        " RETURNING v.model_id, m.owner_id, v.version, v.withdrawn_work_ids AS work_ids, v.withdrawn_at",
        model_id)
    return [_typed(AffectedVersion, r) for r in rows]


async def withdrawn_of_model(conn: Conn, model: ModelRow) -> list[str]:
    rows = await conn.fetch("SELECT work_id FROM withdrawals WHERE work_id = ANY($1::text[]) ORDER BY work_id",
                            list(model.work_ids))
    return [str(r["work_id"]) for r in rows]


async def withdrawn_among(conn: Conn, work_ids: list[str]) -> set[str]:
    """Those of `work_ids` whose consent was withdrawn (or that were deleted)."""
    rows = await conn.fetch("SELECT work_id FROM withdrawals WHERE work_id = ANY($1::text[])", work_ids)
    return {str(r["work_id"]) for r in rows}


async def set_dataset(conn: Conn, model_id: str, work_ids: list[str], asset_ids: list[str]) -> None:
    await conn.execute("UPDATE models SET work_ids = $2, asset_ids = $3 WHERE id = $1", model_id, work_ids, asset_ids)


async def update_settings(conn: Conn, model_id: str, fields: dict[str, Any]) -> ModelRow:
    allowed = ("name", "visibility", "training_mining", "licence", "licence_terms", "commercial_use")
    sets = [k for k in allowed if k in fields]
    assignments = ", ".join(f"{k} = ${i + 2}" for i, k in enumerate(sets)) or "name = name"
    return _typed(ModelRow, await conn.fetchrow(
        f"UPDATE models SET {assignments} WHERE id = $1 RETURNING *", model_id, *(fields[k] for k in sets)))


async def count_generation(conn: Conn, generation_id: str, model_id: str, version: int) -> None:
    await conn.execute("INSERT INTO generations (generation_id, model_id, version) VALUES ($1, $2, $3)"
                       " ON CONFLICT DO NOTHING", generation_id, model_id, version)


async def generation_counts(conn: Conn, model_id: str) -> dict[int, int]:
    rows = await conn.fetch("SELECT version, count(*) AS n FROM generations WHERE model_id = $1 GROUP BY version",
                            model_id)
    return {int(r["version"]): int(r["n"]) for r in rows}


_LIST_SELECT = (
    "SELECT m.*, j.status, j.step, j.steps AS total_steps,"
    " array(SELECT version FROM versions v WHERE v.model_id = m.id ORDER BY version) AS version_numbers,"
    " array(SELECT version FROM versions v WHERE v.model_id = m.id AND v.status = 'consent_withdrawn'"
    "   ORDER BY version) AS withdrawn_versions,"
    " (SELECT count(*) FROM generations g WHERE g.model_id = m.id) AS generations"
    " FROM models m LEFT JOIN LATERAL (SELECT status, step, steps FROM jobs"
    "   WHERE jobs.model_id = m.id ORDER BY version DESC LIMIT 1) j ON true")


@dataclasses.dataclass(frozen=True)
class SharedListRow(ModelListRow):
    owner_id: str = ""
    visibility: str = "private"
    generations: int = 0


async def list_shared(conn: Conn, *, owner_id: str | None, public_only: bool, sort: str, limit: int,
                      after: tuple[int, str] | None) -> list[SharedListRow]:
    """Models of `owner_id` (or everyone's), public only unless asked, newest or most generated first.
    `after`: (generations, id) of the previous page's last row (generations ignored for `new`)."""
    order = "generations DESC, id DESC" if sort == "popular" else "id DESC"
    page = ("(generations, id) < ($4::bigint, $5::text)" if sort == "popular"
            else "($4::bigint >= 0 AND id < $5::text)")
    rows = await conn.fetch(
        f"SELECT * FROM ({_LIST_SELECT} WHERE ($1::text IS NULL OR m.owner_id = $1)"
        "  AND (NOT $2::boolean OR m.visibility = 'public')) t"
        f" WHERE ($3::boolean OR {page}) ORDER BY {order} LIMIT $6",
        owner_id, public_only, after is None, after[0] if after else 0, after[1] if after else "", limit)
    return [_typed(SharedListRow, r) for r in rows]


async def training_uses(conn: Conn, author_id: str, limit: int, before: str | None) -> list[UseRow]:
    """The author's works that trained a version (a page of `limit` works, newest id first), each with
    every version trained on it."""
    rows = await conn.fetch(
        "WITH page AS (SELECT DISTINCT work_id FROM version_works WHERE author_id = $1"
        "   AND ($2::text IS NULL OR work_id < $2) ORDER BY work_id DESC LIMIT $3)"
        " SELECT vw.work_id, (w.work_id IS NOT NULL) AS withdrawn, m.id AS model_id, m.name, m.owner_id,"
        "  m.visibility, vw.version, vw.share, v.status, v.withdrawn_at,"
        "  (SELECT count(*) FROM generations g WHERE g.model_id = vw.model_id AND g.version = vw.version)"
        "   AS generations"
        " FROM page JOIN version_works vw ON vw.work_id = page.work_id AND vw.author_id = $1"
        " JOIN versions v ON v.model_id = vw.model_id AND v.version = vw.version"
        " JOIN models m ON m.id = vw.model_id LEFT JOIN withdrawals w ON w.work_id = vw.work_id"
        " ORDER BY vw.work_id DESC, m.id DESC, vw.version", author_id, before, limit)
    return [_typed(UseRow, r) for r in rows]
