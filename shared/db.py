"""asyncpg pool and the migration runner.

Each service owns one PostgreSQL schema and keeps numbered SQL files in
`services/<name>/migrations/` (`0001_init.sql`, ...). `apply_migrations` applies each file once,
in order, in its own transaction, under an advisory lock so that replicas starting together do not
race; applying twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from shared.logging import get_logger
from shared.settings import DatabaseSettings

log = get_logger(__name__)
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Release a connection to the pool without asyncpg's default reset query.

    The default runs `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every release,
    one more round trip per query. Services keep no session state on pooled connections (advisory
    locks are transaction-scoped, nothing LISTENs, SETs or holds a cursor outside a transaction), and
    asyncpg still rolls back an open transaction before this is called, so there is nothing to reset.
    """


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS).decode()


async def _init_connection(connection: asyncpg.Connection) -> None:
    """jsonb and json columns read as Python values and take Python values: no hand decoding in stores."""
    for name in ("jsonb", "json"):
        await connection.set_type_codec(name, encoder=_json_text, decoder=orjson.loads, schema="pg_catalog")


async def create_pool(settings: DatabaseSettings, *, schema: str | None = None) -> asyncpg.Pool:
    server_settings = {"application_name": "atelier"}
    if schema:
        server_settings["search_path"] = f"{safe_schema_name(schema)},public"
    pool = await asyncpg.create_pool(
        settings.database_url,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        command_timeout=settings.db_command_timeout_s,
        timeout=settings.db_connect_timeout_s,
        server_settings=server_settings,
        reset=_keep_session,
        init=_init_connection,
    )
    assert pool is not None
    return pool


@asynccontextmanager
async def pool_context(settings: DatabaseSettings, *, schema: str | None = None) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(settings, schema=schema)
    try:
        yield pool
    finally:
        await pool.close()


def migration_files(directory: Path) -> list[tuple[int, Path]]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file name must look like 0001_name.sql: {path.name}")
        found.append((int(match.group(1)), path))
    versions = [v for v, _ in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration numbers in {directory}")
    return found


async def apply_migrations(pool: asyncpg.Pool, schema: str, directory: Path) -> list[int]:
    """Apply the files not applied yet; returns the versions applied by this call."""
    schema = safe_schema_name(schema)
    applied_now: list[int] = []
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"migrate:{schema}")
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {schema}.schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"] for r in await conn.fetch(f"SELECT version FROM {schema}.schema_migrations")}
            for version, path in migration_files(directory):
                if version in done:
                    continue
                await conn.execute(f"SET LOCAL search_path TO {schema}, public")
                await conn.execute(path.read_text())
                await conn.execute(
                    f"INSERT INTO {schema}.schema_migrations (version, name) VALUES ($1, $2)", version, path.name
                )
                applied_now.append(version)
    if applied_now:
        log.info("db.migrations.applied", schema=schema, versions=applied_now)
    return applied_now


def safe_schema_name(schema: str) -> str:
    """The schema name, refused unless it is a plain identifier (it is interpolated into SQL)."""
    if not _SCHEMA_NAME.fullmatch(schema):
        raise ValueError(f"invalid schema name: {schema!r}")
    return schema
