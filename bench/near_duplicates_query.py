"""How long the near-duplicate lookup of one upload takes among N shown uploads (not a `make bench` goal).

    python -m bench.near_duplicates_query 5000 100000

Starts a throw-away PostgreSQL (deploy/local), applies the assets migrations, fills N uploads with
random 64-bit hashes, each shown by a public work, and looks up 50 of them moved 3 bits away:
with the chunk index (threshold 6) and with the full comparison a threshold above 7 uses. Prints
milliseconds per lookup and how many planted copies were found (all must be).
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

from deploy.local import procs
from deploy.local.postgres import start_postgres
from services.assets.app import MIGRATIONS
from services.assets.perceptual import PerceptualHash, chunk_keys
from services.assets.similarity_store import find_near
from shared.db import apply_migrations

LOOKUPS = 50
COLUMNS = ["id", "owner_id", "kind", "sha256", "content_type", "width", "height", "size", "palette", "object_key",
           "thumbnail_key", "phash", "dhash"]


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


async def _fill(conn: asyncpg.Connection, rng: random.Random, start: int, end: int) -> None:
    rows = []
    for i in range(start, end):
        ph, dh = _signed(rng.getrandbits(64)), _signed(rng.getrandbits(64))
        rows.append((f"A{i:012d}", f"owner{i % 500}", "upload", f"A{i:012d}", "image/png", 1, 1, 1, [], "k", "t",
                     ph, dh))
    await conn.copy_records_to_table("assets", columns=COLUMNS, records=rows)
    await conn.copy_records_to_table("asset_hash_chunks", columns=["key", "asset_id"],
                                     records=[(k, r[0]) for r in rows for k in chunk_keys(r[11])])
    await conn.copy_records_to_table("work_assets", columns=["work_id", "asset_id", "visibility"],
                                     records=[(f"W{r[0]}", r[0], "public") for r in rows])
    await conn.execute("ANALYZE assets; ANALYZE work_assets; ANALYZE asset_hash_chunks")


async def main(sizes: list[int]) -> None:
    pg = start_postgres(Path(tempfile.mkdtemp(prefix="near-dup-bench-")))
    try:
        pool = await asyncpg.create_pool(pg.database_url, server_settings={"search_path": "assets,public"})
        await apply_migrations(pool, "assets", MIGRATIONS)
        rng, filled = random.Random(1), 0
        async with pool.acquire() as conn:
            for n in sizes:
                await _fill(conn, rng, filled, n)
                filled = n
                targets = rng.sample(range(n), LOOKUPS)
                for label, threshold in (("indexed, threshold 6", 6), ("full scan, threshold 8", 8)):
                    found, started = 0, time.perf_counter()
                    for j in targets:
                        rec = await conn.fetchrow("SELECT phash, dhash FROM assets WHERE id = $1", f"A{j:012d}")
                        near = PerceptualHash(phash=_signed((rec["phash"] ^ 0b10101) & ((1 << 64) - 1)),
                                              dhash=rec["dhash"])
                        matches = await find_near(conn, "someone-else", near, max_distance=threshold,
                                                  max_dhash_distance=12, limit=5)
                        found += any(m.asset_id == f"A{j:012d}" for m in matches)
                    ms = (time.perf_counter() - started) / LOOKUPS * 1000
                    print(f"N={n:>7} {label:<24} {ms:7.2f} ms per upload; planted copies found {found}/{LOOKUPS}")
        await pool.close()
    finally:
        procs.stop_all([pg.record])


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [5000, 100000]))
