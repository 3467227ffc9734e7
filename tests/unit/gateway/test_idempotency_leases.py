"""Idempotency-Key reservations as leases: renewed while the request runs, taken over once the holder
stops renewing, and a store that fails never turns an answer into a 500."""

from __future__ import annotations

import asyncio
import itertools

from aiohttp import web
from structlog.testing import capture_logs

from services.gateway.idempotency import IDEMPOTENCY_STORE
from services.gateway.idempotency_store import IdempotencyRecord, MemoryIdempotencyStore
from tests.unit.gateway.test_gateway_edge import auth, make_app

LEASE_S = 0.3


async def test_a_lease_not_renewed_is_taken_over_and_a_renewed_one_is_not() -> None:
    store = MemoryIdempotencyStore(ttl_s=60, pending_s=LEASE_S)
    assert await store.reserve("held", "f") is None
    assert await store.reserve("dead", "f") is None
    for _ in range(4):  # the holder of "held" keeps renewing past several leases
        await asyncio.sleep(LEASE_S / 2)
        assert await store.renew("held")
    found = await store.reserve("held", "f")
    assert found is not None and found.state == "pending"
    assert await store.reserve("dead", "f") is None  # its holder stopped renewing: a retry runs once more


class FailingStore(MemoryIdempotencyStore):
    """A store that cannot be reached for some of its steps."""

    def __init__(self, failing: set[str]) -> None:
        super().__init__(ttl_s=60, pending_s=30)
        self.failing = failing

    async def reserve(self, key: str, fingerprint: str) -> IdempotencyRecord | None:
        if "reserve" in self.failing:
            raise TimeoutError("nats: timeout")
        return await super().reserve(key, fingerprint)

    async def complete(self, key: str, record: IdempotencyRecord) -> None:
        if "complete" in self.failing:
            raise TimeoutError("nats: timeout")
        await super().complete(key, record)

    async def release(self, key: str) -> None:
        if "release" in self.failing:
            raise ConnectionRefusedError("nats down")
        await super().release(key)


async def test_an_unreachable_store_degrades_to_no_replay_not_a_500(aiohttp_client) -> None:
    app = make_app()
    app[IDEMPOTENCY_STORE] = FailingStore({"reserve"})
    client = await aiohttp_client(app)
    with capture_logs() as logs:
        first = await client.post("/things", json={"name": "a"}, headers=auth(key="k-down"))
        again = await client.post("/things", json={"name": "a"}, headers=auth(key="k-down"))
    assert first.status == again.status == 201
    assert (await first.json())["id"] != (await again.json())["id"]  # no replay while the store is down
    assert "Idempotent-Replayed" not in again.headers
    assert any(e["event"] == "idempotency.store_unavailable" and e["log_level"] == "warning" for e in logs)


async def test_a_failed_complete_or_release_keeps_the_answer(aiohttp_client) -> None:
    app = make_app()
    app[IDEMPOTENCY_STORE] = FailingStore({"complete", "release"})
    client = await aiohttp_client(app)
    with capture_logs() as logs:
        created = await client.post("/things", json={"name": "b"}, headers=auth(key="k-complete"))
        refused = await client.post("/things", json={"fail": True}, headers=auth(key="k-release"))
    assert created.status == 201 and (await created.json())["name"] == "b"
    assert refused.status == 409 and (await refused.json())["detail"] == "that name is taken"
    steps = {e.get("step") for e in logs if e["event"] == "idempotency.store_failed"}
    assert steps == {"complete", "release"}


async def test_a_long_request_keeps_its_key_and_runs_once(aiohttp_client) -> None:
    app = make_app()
    app[IDEMPOTENCY_STORE] = MemoryIdempotencyStore(ttl_s=60, pending_s=LEASE_S)
    runs = itertools.count(1)

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(LEASE_S * 4)  # several leases: only renewal keeps the key reserved
        return web.json_response({"run": next(runs)}, status=201)

    app.router.add_post("/slow", slow)
    client = await aiohttp_client(app)
    first = asyncio.ensure_future(client.post("/slow", json={}, headers=auth(key="k-slow")))
    statuses = []
    for _ in range(4):
        await asyncio.sleep(LEASE_S)
        during = await client.post("/slow", json={}, headers=auth(key="k-slow"))
        statuses.append(during.status)
        if during.status == 409:
            assert during.headers["Retry-After"] == "1"
    done = await first
    assert statuses[:3] == [409, 409, 409]  # still running after 3 leases: refused, not run again
    assert done.status == 201 and await done.json() == {"run": 1}
    replayed = await client.post("/slow", json={}, headers=auth(key="k-slow"))
    assert replayed.headers["Idempotent-Replayed"] == "true" and await replayed.json() == {"run": 1}
