"""Delivery workers scale horizontally: two dispatchers (two replicas) on the same PostgreSQL
claim due deliveries with `FOR UPDATE SKIP LOCKED` and a lease, so each delivery reaches the
receiver once, and both replicas do part of the work; no replica holds more than its per-endpoint
slots of one endpoint at once.

The replicas work on a database of their own: the session's platform runs a webhooks service too, and
on the shared database it would be a third replica claiming some of these deliveries."""

from __future__ import annotations

import asyncio
from collections import Counter

from services.webhooks import store
from services.webhooks.app import MIGRATIONS, SCHEMA
from services.webhooks.dispatcher import Dispatcher, client_session
from services.webhooks.endpoints import new_secret
from services.webhooks.settings import WebhooksSettings
from shared.contexts import migrate
from shared.db import create_pool
from shared.ids import new_id
from tests.support.webhook_receiver import Behaviour, Receiver

ENDPOINTS = 5
EACH = 40


class CountingDispatcher(Dispatcher):
    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.attempted = 0
        self.busiest: Counter[str] = Counter()

    async def attempt(self, due: store.Due) -> None:
        self.attempted += 1
        self.busiest[due.endpoint_id] = max(self.busiest[due.endpoint_id], self._inflight[due.endpoint_id])
        await super().attempt(due)


async def test_two_replicas_deliver_each_delivery_once(own_database: str) -> None:
    settings = WebhooksSettings(database_url=own_database,
                                webhooks_allow_insecure=True, webhooks_poll_interval_s=0.1, webhooks_claim_batch=10)
    await migrate(settings, SCHEMA, MIGRATIONS)
    pool = await create_pool(settings, schema=SCHEMA)
    receiver = await Receiver().start()
    owner = f"replicas-{new_id()}"
    names = [f"rep{i}-{new_id()}" for i in range(ENDPOINTS)]
    try:
        async with pool.acquire() as conn:
            rows = []
            for name in names:
                receiver.behaviour[name] = Behaviour(delay_s=0.02)
                endpoint = await store.insert_endpoint(conn, new_id(), owner, receiver.url(name), "", ["x.y.z"],
                                                       new_secret())
                rows += [(new_id(), endpoint["id"], new_id(), "x.y.z", '{"type":"atelier.x.y.z"}')
                         for _ in range(EACH)]
            assert await store.insert_deliveries(conn, rows) == len(rows)
            assert await store.insert_deliveries(conn, rows[:3]) == 0  # a redelivered event adds nothing
        sessions = [client_session(settings), client_session(settings)]
        replicas = [CountingDispatcher(settings, pool, s) for s in sessions]
        for replica in replicas:
            replica.start()
        try:
            total = ENDPOINTS * EACH
            for name in names:
                await receiver.wait_for(name, lambda rs: len(rs) >= EACH, 60)
            await asyncio.sleep(1.0)  # anything delivered twice would arrive by now
        finally:
            for replica in replicas:
                await replica.stop(5)
            for session in sessions:
                await session.close()
        ids = [r.headers["webhook-id"] for n in names for r in receiver.received[n]]
        assert len(ids) == total and len(set(ids)) == total
        assert all(replica.attempted > 0 for replica in replicas), [r.attempted for r in replicas]
        assert sum(r.attempted for r in replicas) == total
        cap = settings.webhooks_per_endpoint_concurrency
        assert all(n <= cap for r in replicas for n in r.busiest.values())
        settled = await pool.fetchval("SELECT count(*) FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id "
                                      "WHERE e.owner_id = $1 AND d.status = 'succeeded' AND d.attempts = 1", owner)
        assert settled == total
    finally:
        await pool.execute("DELETE FROM endpoints WHERE owner_id = $1", owner)
        await receiver.stop()
        await pool.close()
