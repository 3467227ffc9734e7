"""All SQL of the assets service (schema `assets`, on the pool's search_path)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

_COLUMNS = ("id, owner_id, kind, sha256, content_type, width, height, size, orientation, palette, "
            "object_key, thumbnail_key, meta, created_at")


@dataclass(frozen=True)
class AssetRow:
    id: str
    owner_id: str
    kind: str
    sha256: str
    content_type: str
    width: int
    height: int
    size: int
    orientation: int
    palette: list[str]
    object_key: str
    thumbnail_key: str
    meta: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> AssetRow:
        # The pool's jsonb codec has decoded `meta` already.
        return cls(**{**dict(r), "palette": list(r["palette"]), "meta": dict(r["meta"] or {})})


async def insert_asset(conn: asyncpg.Connection, row: AssetRow) -> None:
    """Raises asyncpg.UniqueViolationError when the owner already has these bytes."""
    await conn.execute(
        "INSERT INTO assets (id, owner_id, kind, sha256, content_type, width, height, size, orientation,"
        " palette, object_key, thumbnail_key, meta, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        row.id, row.owner_id, row.kind, row.sha256, row.content_type, row.width, row.height, row.size,
        row.orientation, row.palette, row.object_key, row.thumbnail_key, row.meta, row.created_at,
    )


async def insert_asset_if_new(conn: asyncpg.Connection, row: AssetRow) -> bool:
    """Insert unless the owner already has these bytes (then False, nothing written)."""
    return bool(await conn.fetchval(
        "INSERT INTO assets (id, owner_id, kind, sha256, content_type, width, height, size, orientation,"
        " palette, object_key, thumbnail_key, meta, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        " ON CONFLICT (owner_id, sha256) DO NOTHING RETURNING true",
        row.id, row.owner_id, row.kind, row.sha256, row.content_type, row.width, row.height, row.size,
        row.orientation, row.palette, row.object_key, row.thumbnail_key, row.meta, row.created_at,
    ))


async def find_by_sha256_many(conn: asyncpg.Connection | asyncpg.Pool, pairs: list[tuple[str, str]],
                              ) -> dict[tuple[str, str], AssetRow]:
    """The assets that already hold these (owner_id, sha256) pairs, by pair."""
    if not pairs:
        return {}
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM assets WHERE (owner_id, sha256) IN"
        " (SELECT * FROM unnest($1::text[], $2::text[]))",
        [o for o, _ in pairs], [h for _, h in pairs])
    rows = [AssetRow.from_record(r) for r in records]
    return {(r.owner_id, r.sha256): r for r in rows}


async def stored_bytes(conn: asyncpg.Connection | asyncpg.Pool, owner_id: str) -> int:
    """Bytes of every original the owner holds (thumbnails are small and not counted)."""
    total = await conn.fetchval("SELECT coalesce(sum(size), 0) FROM assets WHERE owner_id = $1", owner_id)
    return int(total)


async def get_asset(conn: asyncpg.Connection | asyncpg.Pool, asset_id: str) -> AssetRow | None:
    record = await conn.fetchrow(f"SELECT {_COLUMNS} FROM assets WHERE id = $1", asset_id)
    return AssetRow.from_record(record) if record else None


async def get_assets(conn: asyncpg.Connection | asyncpg.Pool, ids: list[str]) -> list[AssetRow]:
    records = await conn.fetch(f"SELECT {_COLUMNS} FROM assets WHERE id = ANY($1::text[]) ORDER BY id", ids)
    return [AssetRow.from_record(r) for r in records]


async def owned_assets(conn: asyncpg.Connection | asyncpg.Pool, owner_id: str, after: str | None,
                       limit: int) -> list[AssetRow]:
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM assets WHERE owner_id = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3",
        owner_id, after, limit)
    return [AssetRow.from_record(r) for r in records]


async def delete_owned(conn: asyncpg.Connection, owner_id: str, limit: int) -> list[AssetRow]:
    """Delete up to `limit` of the owner's assets (and their work links); returns the deleted rows."""
    records = await conn.fetch(
        f"DELETE FROM assets WHERE id IN (SELECT id FROM assets WHERE owner_id = $1 ORDER BY id LIMIT $2"
        f" FOR UPDATE) RETURNING {_COLUMNS}", owner_id, limit)
    rows = [AssetRow.from_record(r) for r in records]
    if rows:
        await conn.execute("DELETE FROM work_assets WHERE asset_id = ANY($1::text[])", [r.id for r in rows])
    return rows


async def find_by_sha256(conn: asyncpg.Connection | asyncpg.Pool, owner_id: str, sha256: str) -> AssetRow | None:
    record = await conn.fetchrow(f"SELECT {_COLUMNS} FROM assets WHERE owner_id = $1 AND sha256 = $2",
                                 owner_id, sha256)
    return AssetRow.from_record(record) if record else None


async def delete_asset(conn: asyncpg.Connection, asset_id: str) -> bool:
    return bool(await conn.fetchval("DELETE FROM assets WHERE id = $1 RETURNING true", asset_id))


async def lock_asset(conn: asyncpg.Connection, asset_id: str) -> AssetRow | None:
    record = await conn.fetchrow(f"SELECT {_COLUMNS} FROM assets WHERE id = $1 FOR UPDATE", asset_id)
    return AssetRow.from_record(record) if record else None


# -- which works use which assets ---------------------------------------------------------------


async def shown_to_others(conn: asyncpg.Connection | asyncpg.Pool, asset_id: str) -> bool:
    """True when a public or unlisted work shows the asset, or it is a sample grid of a public model's
    version that was not withdrawn (the model's owner must own the grid too)."""
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM work_assets WHERE asset_id = $1 AND visibility IN ('public', 'unlisted'))"
        " OR EXISTS (SELECT 1 FROM assets a JOIN model_visibility m"
        "  ON m.model_id = a.meta->>'model_id' AND m.owner_id = a.owner_id"
        "  WHERE a.id = $1 AND a.kind = 'sample' AND m.visibility = 'public'"
        "  AND NOT EXISTS (SELECT 1 FROM withdrawn_model_versions w"
        "   WHERE w.model_id = m.model_id AND w.version::text = a.meta->>'version'))",
        asset_id,
    ))


async def works_using(conn: asyncpg.Connection | asyncpg.Pool, asset_id: str) -> list[str]:
    rows = await conn.fetch("SELECT work_id FROM work_assets WHERE asset_id = $1 ORDER BY work_id", asset_id)
    return [r["work_id"] for r in rows]


async def apply_work_state(
    conn: asyncpg.Connection, work_id: str, stream_seq: int, *, visibility: str | None, asset_ids: list[str],
) -> bool:
    """Make `work_assets` show the work as of event `stream_seq` (visibility None: deleted).

    Returns False, changing nothing, when a newer event for the work was applied already.
    """
    applied = await conn.fetchval(
        "INSERT INTO work_versions (work_id, stream_seq, deleted) VALUES ($1, $2, $3)"
        " ON CONFLICT (work_id) DO UPDATE SET stream_seq = EXCLUDED.stream_seq, deleted = EXCLUDED.deleted"
        " WHERE work_versions.stream_seq < EXCLUDED.stream_seq RETURNING true",
        work_id, stream_seq, visibility is None,
    )
    if not applied:
        return False
    await conn.execute("DELETE FROM work_assets WHERE work_id = $1", work_id)
    if visibility is not None and asset_ids:
        await conn.executemany(
            "INSERT INTO work_assets (work_id, asset_id, visibility) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [(work_id, asset_id, visibility) for asset_id in dict.fromkeys(asset_ids)],
        )
    return True


# -- which style models show their sample grids (trainer events) --------------------------------


async def apply_model_visibility(conn: asyncpg.Connection | asyncpg.Pool, model_id: str, owner_id: str,
                                 visibility: str, stream_seq: int | None) -> bool:
    """Record a model's visibility. `stream_seq` None: from a trainer.model.trained event, which only
    fills in a model not seen before (it carries the visibility of when its job started); otherwise a
    trainer.model.updated event, applied unless a later one was. Returns whether anything changed."""
    if stream_seq is None:
        return bool(await conn.fetchval(
            "INSERT INTO model_visibility (model_id, owner_id, visibility, stream_seq) VALUES ($1, $2, $3, 0)"
            " ON CONFLICT (model_id) DO NOTHING RETURNING true", model_id, owner_id, visibility))
    return bool(await conn.fetchval(
        "INSERT INTO model_visibility (model_id, owner_id, visibility, stream_seq) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (model_id) DO UPDATE SET visibility = EXCLUDED.visibility, stream_seq = EXCLUDED.stream_seq"
        " WHERE model_visibility.stream_seq < EXCLUDED.stream_seq RETURNING true",
        model_id, owner_id, visibility, stream_seq))


async def withdraw_model_version(conn: asyncpg.Connection | asyncpg.Pool, model_id: str, version: int) -> bool:
    """A withdrawn version's sample grids stop being shown to others, for good (idempotent)."""
    return bool(await conn.fetchval(
        "INSERT INTO withdrawn_model_versions (model_id, version) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        " RETURNING true", model_id, version))
