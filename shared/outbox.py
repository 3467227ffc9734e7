"""Transactional outbox: an event is written in the same transaction as the change it reports.

    async with conn.transaction():
        await conn.execute("INSERT INTO works ...")
        await enqueue(conn, "community", event)

`OutboxRelay` publishes committed rows to JetStream in order and marks them sent. A rolled-back
write leaves no row, so nothing is published; while NATS is down rows wait and go out once it is
back; a crash between publish and mark republishes with the same `Nats-Msg-Id`, which JetStream's
duplicate window drops, so each event is stored exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
from nats.js import JetStreamContext

from shared.contracts.events.envelope import CloudEvent
from shared.db import safe_schema_name
from shared.logging import get_logger
from shared.messaging import context

log = get_logger(__name__)
CHANNEL = "atelier_outbox"


def outbox_ddl(schema: str) -> str:
    schema = safe_schema_name(schema)
    return f"""
    CREATE TABLE IF NOT EXISTS {schema}.outbox (
        seq bigserial PRIMARY KEY,
        event_id text NOT NULL UNIQUE,
        subject text NOT NULL,
        body text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz,
        attempts integer NOT NULL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS outbox_pending_idx ON {schema}.outbox (seq) WHERE published_at IS NULL;
    """


async def install_outbox(pool: asyncpg.Pool, schema: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"outbox:{schema}")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {safe_schema_name(schema)}")
        await conn.execute(outbox_ddl(schema))


async def enqueue(conn: asyncpg.Connection, schema: str, event: CloudEvent) -> None:
    """Record `event` inside the caller's transaction; the relay is woken on commit."""
    await conn.execute(
        f"INSERT INTO {safe_schema_name(schema)}.outbox (event_id, subject, body) VALUES ($1, $2, $3)",
        event.id, event.nats_subject, event.to_json().decode(),
    )
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, schema)


async def enqueue_many(conn: asyncpg.Connection, schema: str, events: list[CloudEvent]) -> None:
    """`enqueue` for several events: one statement and one wake-up for all of them."""
    if not events:
        return
    await conn.executemany(
        f"INSERT INTO {safe_schema_name(schema)}.outbox (event_id, subject, body) VALUES ($1, $2, $3)",
        [(e.id, e.nats_subject, e.to_json().decode()) for e in events],
    )
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, schema)


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        js: JetStreamContext,
        schema: str,
        *,
        batch: int = 100,
        poll_interval_s: float = 1.0,
        publish_timeout_s: float = 5.0,
        keep_published_s: float = 3600.0,
    ) -> None:
        self._pool = pool
        self._js = js
        self._schema = safe_schema_name(schema)
        self._batch = batch
        self._poll_interval_s = poll_interval_s
        self._publish_timeout_s = publish_timeout_s
        self._keep_published_s = keep_published_s
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._last_prune = 0.0

    async def start(self) -> None:
        self._listener = await self._pool.acquire()
        await self._listener.add_listener(CHANNEL, self._on_notify)
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay:{self._schema}")

    async def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout_s)
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.remove_listener(CHANNEL, self._on_notify)
            await self._pool.release(self._listener)
            self._listener = None

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload == self._schema:
            self._wake.set()

    async def _run(self) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                while await self.publish_pending() == self._batch:
                    pass
                await self._prune()
                backoff = 0.5
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval_s)
                self._wake.clear()
            except Exception as exc:
                log.warning("outbox.relay.retry", schema=self._schema, error=str(exc) or type(exc).__name__,
                            backoff_s=backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), backoff)
                backoff = min(backoff * 2, 10.0)

    async def publish_pending(self) -> int:
        """Publish one batch of unsent events in order; returns how many were sent."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"SELECT seq, event_id, subject, body FROM {self._schema}.outbox"
                " WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
                self._batch,
            )
            sent: list[int] = []
            failure: Exception | None = None
            for row in rows:
                headers = {"Nats-Msg-Id": row["event_id"]}
                correlation = CloudEvent.model_validate_json(row["body"]).correlationid
                if correlation:
                    headers[context.CORRELATION_ID] = correlation
                try:
                    await self._js.publish(
                        row["subject"], row["body"].encode(), headers=headers, timeout=self._publish_timeout_s
                    )
                except Exception as exc:  # NATS unreachable: keep order, retry the rest later
                    failure = exc
                    break
                sent.append(row["seq"])
            if sent:
                await conn.execute(
                    f"UPDATE {self._schema}.outbox SET published_at = now(), attempts = attempts + 1"
                    " WHERE seq = ANY($1::bigint[])",
                    sent,
                )
        if failure is not None:
            raise failure
        return len(sent)

    async def _prune(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._last_prune < 60:
            return
        self._last_prune = now
        async with self._pool.acquire() as conn:
            await conn.execute(
                f"DELETE FROM {self._schema}.outbox WHERE published_at < now() - make_interval(secs => $1)",
                self._keep_published_s,
            )
