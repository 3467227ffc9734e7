"""Generated images: their rows, ratings, published works and likes."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.inference.store.rows import (
    OUTPUT_COLUMNS,
    Conn,
    OutputRow,
    RatedOutputRow,
    _all,
    _one,
)


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
