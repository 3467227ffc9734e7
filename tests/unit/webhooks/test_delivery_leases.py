"""A claimed delivery's short lease is renewed while its attempt runs and no longer once it settled
(no servers: the pool is a recorder, the receiver a slow coroutine)."""

from __future__ import annotations

import asyncio
from typing import Any

from services.webhooks import dispatcher as dispatching
from services.webhooks import store
from services.webhooks.dispatcher import Dispatcher
from services.webhooks.settings import WebhooksSettings


class RecordingPool:
    def __init__(self) -> None:
        self.renewals: list[tuple[list[str], float]] = []

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:
        assert timeout is not None and "locked_until IS NOT NULL" in query  # a settled one keeps no lease
        self.renewals.append((list(args[0]), float(args[1])))
        return "UPDATE 1"


def due(delivery_id: str) -> store.Due:
    return store.Due(id=delivery_id, endpoint_id="e1", owner_id="o1", url="http://127.0.0.1/x", body="{}",
                     attempts=0, manual=False, secret="whsec_x", previous_secret=None)


async def test_a_running_attempt_keeps_its_lease_and_a_settled_one_lets_go(monkeypatch: Any) -> None:
    settings = WebhooksSettings(webhooks_lease_s=1.5)
    pool = RecordingPool()
    worker = Dispatcher(settings, pool, None)  # type: ignore[arg-type]
    release = asyncio.Event()

    async def slow_attempt(self: Dispatcher, item: store.Due) -> None:
        await release.wait()

    async def claimed(*_: Any) -> list[store.Due]:
        return [due("d1")]

    monkeypatch.setattr(Dispatcher, "attempt", slow_attempt)
    monkeypatch.setattr(dispatching.store, "claim_due", claimed)
    renewer = asyncio.create_task(worker._renew())
    try:
        await worker._claim(10)
        await asyncio.sleep(1.2)  # two beats of a third of 1.5 s
        assert pool.renewals and all(r == (["d1"], 1.5) for r in pool.renewals)
        release.set()
        await asyncio.wait(set(worker._tasks))  # the attempt settles
        renewed = len(pool.renewals)
        await asyncio.sleep(0.6)
        assert len(pool.renewals) == renewed, "a settled delivery's lease was renewed"
    finally:
        renewer.cancel()
