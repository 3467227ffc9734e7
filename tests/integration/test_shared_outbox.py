"""The transactional outbox against real PostgreSQL and a real NATS server that goes away."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.contracts.events import make_event
from shared.contracts.events.catalog import UserCreated
from shared.messaging.connection import connect
from shared.messaging.streams import ensure_streams
from shared.outbox import OutboxRelay, enqueue, install_outbox
from tests.support.nats import RestartableNats
from tests.support.streams import stored_events


@pytest.fixture
async def pool(endpoints: object) -> AsyncIterator[asyncpg.Pool]:
    db = await asyncpg.create_pool(endpoints.database_url, min_size=1, max_size=4)  # type: ignore[attr-defined]
    yield db
    await db.close()


async def _write(pool: asyncpg.Pool, schema: str, username: str, *, commit: bool = True) -> str:
    event = make_event(UserCreated(user_id=username, username=username), service="test", subject_id=username)
    try:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(f"INSERT INTO {schema}.things (name) VALUES ($1)", username)
            await enqueue(conn, schema, event)
            if not commit:
                raise RuntimeError("roll back")
    except RuntimeError:
        pass
    return event.id


async def _stored_ids(js: object, usernames: set[str]) -> list[str]:
    """Every `community.user.created` in the stream for these users (duplicates included)."""
    return [doc["id"] for doc in await stored_events(js, "community.user.created")
            if doc["data"]["username"] in usernames]


async def _until(predicate, timeout_s: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.2)


async def test_outbox_publishes_each_committed_event_once_across_a_nats_outage(
    own_nats: RestartableNats, pool: asyncpg.Pool
) -> None:
    schema = f"outbox_{uuid.uuid4().hex[:8]}"
    await install_outbox(pool, schema)
    await pool.execute(f"CREATE TABLE {schema}.things (name text PRIMARY KEY)")
    nc = await connect(own_nats.url, name="outbox-test")
    js = nc.jetstream(timeout=2.0)
    await ensure_streams(js)
    relay = OutboxRelay(pool, js, schema, poll_interval_s=0.2, publish_timeout_s=1.0)
    await relay.start()
    tag = uuid.uuid4().hex[:6]
    names = {f"{tag}_{i}" for i in range(4)}
    try:
        first = await _write(pool, schema, f"{tag}_0")
        await _until(lambda: _pending(pool, schema, 0))

        own_nats.stop()
        during = [await _write(pool, schema, f"{tag}_1"), await _write(pool, schema, f"{tag}_2")]
        rolled_back = await _write(pool, schema, f"{tag}_3", commit=False)
        await asyncio.sleep(1.0)
        assert await pool.fetchval(f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL") == 2

        own_nats.start()
        await _until(lambda: _pending(pool, schema, 0))
        # A relay that crashed after publishing but before marking sends the event again:
        await pool.execute(f"UPDATE {schema}.outbox SET published_at = NULL WHERE event_id = $1", first)
        await _until(lambda: _pending(pool, schema, 0))

        stored = await _stored_ids(js, names)
        assert sorted(stored) == sorted([first, *during])
        assert rolled_back not in stored
    finally:
        await relay.stop()
        await nc.close()


async def _pending(pool: asyncpg.Pool, schema: str, expected: int) -> bool:
    return await pool.fetchval(f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL") == expected
