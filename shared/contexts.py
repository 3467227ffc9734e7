"""Cleanup contexts for the resources services share: NATS, the PostgreSQL pool, the outbox relay,
the RPC server and JetStream consumers.

Register them in this order — database, nats, relay, rpc, consumers — so teardown runs in reverse:
consumers stop and finish the message in flight, RPC endpoints stop, the relay flushes, NATS
drains, the pool closes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar

import asyncpg
from aiohttp import web
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from shared.db import apply_migrations, create_pool
from shared.logging import get_logger
from shared.messaging.connection import connect_as
from shared.messaging.consumer import JetStreamConsumer
from shared.messaging.rpc import RpcServer
from shared.messaging.streams import ensure_streams
from shared.outbox import OutboxRelay, install_outbox
from shared.settings import DatabaseSettings, ServiceSettings
from shared.shutdown import OUTBOX_FLUSH_S, POOL_CLOSE_S
from shared.web import add_readiness_check

log = get_logger(__name__)

NC = web.AppKey("nc", NATS)
JS = web.AppKey("js", JetStreamContext)
DB = web.AppKey("db", asyncpg.Pool)

CleanupCtx = Callable[[web.Application], AsyncIterator[None]]
T = TypeVar("T")


async def migrate(settings: DatabaseSettings, schema: str, migrations: Path, *, outbox: bool = True) -> None:
    """Apply a service's migrations (and its outbox table) once; what `--migrate-only` runs."""
    pool = await create_pool(settings)
    try:
        await apply_migrations(pool, schema, migrations)
        if outbox:
            await install_outbox(pool, schema)
    finally:
        await pool.close()


async def migrate_streams(settings: ServiceSettings) -> None:
    """Create or update the platform's streams as this process's identity (`--migrate-only` with
    `ATELIER_NATS_MIGRATE_STREAMS`); the identity must be allowed to manage streams."""
    nc = await connect_as(settings, name=f"atelier-{settings.service_name}-migrate")
    try:
        await ensure_streams(nc.jetstream(timeout=settings.publish_timeout_s), replicas=settings.nats_replicas)
    finally:
        await nc.close()


def database_ctx(settings: DatabaseSettings, schema: str, migrations: Path, *, outbox: bool = True) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        await migrate(settings, schema, migrations, outbox=outbox)
        pool = await create_pool(settings, schema=schema)
        app[DB] = pool

        async def db_ready() -> bool:
            return bool(await pool.fetchval("SELECT 1") == 1)

        add_readiness_check(app, "postgres", db_ready)
        try:
            yield
        finally:
            try:
                await asyncio.wait_for(pool.close(), POOL_CLOSE_S)
            except TimeoutError:
                pool.terminate()

    return ctx


def nats_ctx(settings: ServiceSettings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        nc = await connect_as(settings)
        js = nc.jetstream(timeout=settings.publish_timeout_s)
        if settings.nats_manage_streams:
            await ensure_streams(js, replicas=settings.nats_replicas)
        app[NC], app[JS] = nc, js

        async def nats_ready() -> bool:
            return nc.is_connected

        add_readiness_check(app, "nats", nats_ready)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.drain(), timeout=settings.shutdown.nats_drain_s)
            if not nc.is_closed:
                await nc.close()

    return ctx


def outbox_relay_ctx(schema: str) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        relay = OutboxRelay(app[DB], app[JS], schema)
        await relay.start()
        try:
            yield
        finally:
            await relay.stop(OUTBOX_FLUSH_S)

    return ctx


def owned_data_ctxs(settings: ServiceSettings, schema: str, migrations: Path) -> list[CleanupCtx]:
    """What every service that owns a schema starts first, in order: its migrated pool, NATS, and the
    relay that publishes its outbox (`app.cleanup_ctx.extend(...)`)."""
    if not isinstance(settings, DatabaseSettings):
        raise TypeError(f"{type(settings).__name__} has no database settings")
    return [database_ctx(settings, schema, migrations), nats_ctx(settings),
            outbox_relay_ctx(schema)]


def rpc_ctx(settings: ServiceSettings, register: Callable[[RpcServer, T], None], handler_key: web.AppKey[T],
            ) -> CleanupCtx:
    """Serve the service's contract operations: `register(server, app[handler_key])` binds each
    handler; the server refuses to start while a declared operation has none."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        server = RpcServer(app[NC], settings.service_name, check_responses=settings.rpc_check_responses,
                           concurrency=settings.rpc_concurrency)
        register(server, app[handler_key])
        await server.start()
        log.info("rpc.started", service=server.service, operations=len(server.operations))
        try:
            yield
        finally:
            await server.stop(drain_s=settings.shutdown.work_s / 2)

    return ctx


def consumers_ctx(build: Callable[[web.Application], list[JetStreamConsumer]], *, stop_timeout_s: float) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        consumers = build(app)
        for consumer in consumers:
            await consumer.start()
        try:
            yield
        finally:
            await asyncio.gather(*(c.stop(stop_timeout_s) for c in consumers))

    return ctx
