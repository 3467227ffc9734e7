"""SQL of perceptual hashes and near duplicates (part of the assets store; schema `assets`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

import asyncpg

from services.assets.perceptual import INDEXED_MAX_DISTANCE, PerceptualHash, probe_keys

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool


@dataclass(frozen=True)
class Match:
    """An asset of another owner, shown by a public or unlisted work, near an upload."""

    asset_id: str
    owner_id: str
    work_id: str
    distance: int
    dhash_distance: int


@dataclass(frozen=True)
class NearDuplicate:
    id: str
    asset_id: str
    uploader_id: str
    original_asset_id: str
    original_work_id: str
    original_author_id: str
    distance: int
    dhash_distance: int
    created_at: datetime


async def set_hashes(conn: asyncpg.Connection, asset_id: str, ph: PerceptualHash) -> None:
    await conn.execute("UPDATE assets SET phash = $2, dhash = $3 WHERE id = $1", asset_id, ph.phash, ph.dhash)
    await conn.execute("INSERT INTO asset_hash_chunks (key, asset_id) SELECT k, $1 FROM unnest($2::integer[]) k"
                       " ON CONFLICT DO NOTHING", asset_id, ph.chunk_keys)


async def find_near(conn: Conn, uploader_id: str, ph: PerceptualHash, *, max_distance: int,
                    max_dhash_distance: int, limit: int) -> list[Match]:
    """The nearest assets of other owners that a public or unlisted work shows, closest first.

    Assets that are themselves recorded near duplicates are copies, not originals: they are skipped
    (the original they resemble is matched directly), so an author re-uploading their own picture is
    never flagged against someone's acknowledged copy of it.

    Up to `INDEXED_MAX_DISTANCE` the chunk index narrows the candidates (exactly: no match is
    missed); a larger threshold compares against every shown upload.
    """
    indexed = max_distance <= INDEXED_MAX_DISTANCE
    args: list[object] = [ph.phash, ph.dhash, uploader_id, max_distance, max_dhash_distance, limit]
    if indexed:
        args.append(probe_keys(ph.phash))
    records = await conn.fetch(
        "SELECT a.id, a.owner_id, w.work_id, bit_count((a.phash # $1)::bit(64)) AS distance,"
        "  bit_count((a.dhash # $2)::bit(64)) AS dhash_distance"
        " FROM assets a CROSS JOIN LATERAL (SELECT wa.work_id FROM work_assets wa WHERE wa.asset_id = a.id"
        "   AND wa.visibility IN ('public', 'unlisted')"
        "   ORDER BY wa.visibility = 'public' DESC, wa.work_id LIMIT 1) w"
        " WHERE a.phash IS NOT NULL AND a.owner_id <> $3"
        + (" AND a.id IN (SELECT c.asset_id FROM asset_hash_chunks c WHERE c.key = ANY($7::integer[]))"
           if indexed else "") +
        "  AND NOT EXISTS (SELECT 1 FROM near_duplicates n WHERE n.asset_id = a.id)"
        "  AND bit_count((a.phash # $1)::bit(64)) <= $4 AND bit_count((a.dhash # $2)::bit(64)) <= $5"
        " ORDER BY distance, dhash_distance, a.id LIMIT $6", *args)
    return [Match(asset_id=r["id"], owner_id=r["owner_id"], work_id=r["work_id"], distance=r["distance"],
                  dhash_distance=r["dhash_distance"]) for r in records]


async def record_near_duplicate(conn: asyncpg.Connection, row: NearDuplicate) -> bool:
    """False (nothing written) when the pair was recorded before."""
    return bool(await conn.fetchval(
        "INSERT INTO near_duplicates (id, asset_id, uploader_id, original_asset_id, original_work_id,"
        " original_author_id, distance, dhash_distance, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (asset_id, original_asset_id) DO NOTHING RETURNING true",
        row.id, row.asset_id, row.uploader_id, row.original_asset_id, row.original_work_id,
        row.original_author_id, row.distance, row.dhash_distance, row.created_at))


@dataclass(frozen=True)
class OriginalOf:
    """What `describe` tells about a near duplicate: the original and whether its work is public now."""

    asset_id: str
    original_asset_id: str
    original_work_id: str
    original_author_id: str
    distance: int
    work_public: bool


async def originals_of(conn: Conn, asset_ids: list[str]) -> list[OriginalOf]:
    records = await conn.fetch(
        "SELECT n.asset_id, n.original_asset_id, n.original_work_id, n.original_author_id, n.distance,"
        "  EXISTS (SELECT 1 FROM work_assets wa WHERE wa.work_id = n.original_work_id"
        "    AND wa.asset_id = n.original_asset_id AND wa.visibility = 'public') AS work_public"
        " FROM near_duplicates n WHERE n.asset_id = ANY($1::text[]) ORDER BY n.asset_id, n.distance, n.id",
        asset_ids)
    return [OriginalOf(**dict(r)) for r in records]


@dataclass(frozen=True)
class PossibleCopyRow:
    id: str
    uploader_id: str
    original_asset_id: str
    original_work_id: str
    distance: int
    created_at: datetime
    published_in: list[str]


async def possible_copies(conn: Conn, author_id: str, before: str | None, limit: int) -> list[PossibleCopyRow]:
    """Near duplicates of the author's works, newest first; `published_in`: public works showing the copy."""
    records = await conn.fetch(
        "SELECT n.id, n.uploader_id, n.original_asset_id, n.original_work_id, n.distance, n.created_at,"
        "  ARRAY(SELECT wa.work_id FROM work_assets wa WHERE wa.asset_id = n.asset_id"
        "    AND wa.visibility = 'public' ORDER BY wa.work_id) AS published_in"
        " FROM near_duplicates n WHERE n.original_author_id = $1 AND ($2::text IS NULL OR n.id < $2)"
        " ORDER BY n.id DESC LIMIT $3", author_id, before, limit)
    return [PossibleCopyRow(**{**dict(r), "published_in": list(r["published_in"])}) for r in records]
