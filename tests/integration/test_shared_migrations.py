"""The migration runner against real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg

from shared.db import apply_migrations


async def test_migrations_apply_once_and_twice_changes_nothing(endpoints: object, tmp_path: Path) -> None:
    (tmp_path / "0001_init.sql").write_text("CREATE TABLE items (id int PRIMARY KEY);")
    (tmp_path / "0002_seed.sql").write_text("INSERT INTO items VALUES (1), (2);")
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    pool = await asyncpg.create_pool(endpoints.database_url, min_size=1, max_size=4)  # type: ignore[attr-defined]
    try:
        # Two replicas starting together: the advisory lock makes one of them do the work.
        first, second = await asyncio.gather(
            apply_migrations(pool, schema, tmp_path), apply_migrations(pool, schema, tmp_path)
        )
        assert sorted([first, second]) == [[], [1, 2]]
        assert await apply_migrations(pool, schema, tmp_path) == []
        assert await pool.fetchval(f"SELECT count(*) FROM {schema}.items") == 2

        (tmp_path / "0003_more.sql").write_text("INSERT INTO items VALUES (3);")
        assert await apply_migrations(pool, schema, tmp_path) == [3]
        assert await pool.fetchval(f"SELECT count(*) FROM {schema}.items") == 3
    finally:
        await pool.close()


async def test_a_failing_migration_leaves_nothing_half_applied(endpoints: object, tmp_path: Path) -> None:
    (tmp_path / "0001_init.sql").write_text("CREATE TABLE items (id int PRIMARY KEY);")
    (tmp_path / "0002_broken.sql").write_text("INSERT INTO items VALUES (1); SELECT nonsense_column FROM items;")
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    pool = await asyncpg.create_pool(endpoints.database_url, min_size=1, max_size=2)  # type: ignore[attr-defined]
    try:
        try:
            await apply_migrations(pool, schema, tmp_path)
        except asyncpg.PostgresError:
            pass
        else:
            raise AssertionError("the broken migration should fail")
        exists = await pool.fetchval("SELECT to_regclass($1)", f"{schema}.items")
        assert exists is None
    finally:
        await pool.close()
