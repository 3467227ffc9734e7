"""The market's ledger against the real stack, with assets, inference and market as this module's own
processes (killable by pid): generations on a priced public model reserve, settle and release exactly
once — under redelivered and contradicting events, and when the market is SIGKILLed between reserve
and settle under a stream of generations and restarted. The ledger stays balanced (the sum over all
accounts is zero, every transaction sums to zero) and each payer, owner and artist ends with exactly
what the settled generations say.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest

from deploy.local import procs, services
from deploy.local.stack import EmbeddedStack
from shared.contracts import inference as c
from shared.contracts import market as m
from shared.contracts.events.catalog import GenerationCompleted, GenerationFailed
from shared.contracts.events.envelope import make_event
from shared.errors import AtelierError, Conflict, NotFound
from shared.ids import new_id
from shared.messaging.publisher import publish_event
from shared.messaging.rpc import call_raw
from tests.support.streams import stored_events, wait_outbox_relayed
from tests.support.style_models import announce_trained, tiny_generator_onnx, upload_model

STARTED = ["assets", "inference", "market"]
GRANT = 100
PRICE = 3
SHARE = 40
ARTISTS = {"artist_a": 3, "artist_b": 1}  # the version's training record: images per artist


class OwnServices:
    def __init__(self, stack: EmbeddedStack, logs: Path) -> None:
        self.stack, self.logs = stack, logs
        self.records: dict[str, procs.ProcRecord] = {}
        self.all_records: list[procs.ProcRecord] = []

    def start(self, names: list[str]) -> None:
        started = services.start_services(names, self.stack.service_env(), self.logs, 0,
                                          self.all_records.append, env_for=self._env)
        for name, proc in started.items():
            self.records[name] = proc.record

    def _env(self, name: str) -> dict[str, str]:
        env = self.stack.service_env(name)
        if name == "market":  # orphaned reservations are looked up within seconds, not minutes
            env.update(ATELIER_MARKET_SWEEP_INTERVAL_S="1", ATELIER_MARKET_SWEEP_AFTER_S="4",
                       ATELIER_MARKET_STARTING_GRANT=str(GRANT))
        return env

    def kill(self, name: str) -> None:
        record = self.records[name]
        os.kill(record.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while procs.is_running(record) and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        assert not procs.stop_all(self.all_records, grace_s=15)


@pytest.fixture(scope="module")
def own(stack: EmbeddedStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnServices]:
    running = OwnServices(stack, tmp_path_factory.mktemp("market-logs"))
    try:
        running.start(STARTED)
        yield running
    finally:
        running.stop()


@pytest.fixture
async def db(endpoints: Any) -> Any:
    conn = await asyncpg.connect(endpoints.database_url, server_settings={"search_path": "market"})
    try:
        yield conn
    finally:
        await conn.close()


async def _rpc(nc: Any, op: Any, payload: Any, *, actor_id: str | None = None, timeout: float = 10) -> Any:
    return orjson.loads(await call_raw(nc, op, payload, timeout=timeout, actor_id=actor_id))


async def _priced_model(endpoints: Any, js: Any, db: Any) -> tuple[str, str]:
    """A public model of a new owner, priced (and its training record known) in the market's tables."""
    from minio import Minio

    owner, model_id = "owner_" + new_id()[-8:], new_id()
    minio = Minio(endpoints.s3_endpoint, access_key=endpoints.s3_access_key, secret_key=endpoints.s3_secret_key,
                  secure=False)
    await asyncio.to_thread(upload_model, minio, endpoints.s3_bucket, model_id, 1, tiny_generator_onnx(5))
    await announce_trained(js, model_id, owner, 1, visibility="public")
    await db.execute("INSERT INTO model_prices (model_id, owner_id, price_per_image, contributors_share)"
                     " VALUES ($1, $2, $3, $4)", model_id, owner, PRICE, SHARE)
    await db.execute("INSERT INTO version_records (model_id, version, artists) VALUES ($1, 1, $2::jsonb)",
                     model_id, orjson.dumps({f"{a}_{model_id}": n for a, n in ARTISTS.items()}).decode())
    return owner, model_id


async def _create(nc: Any, payer: str, model_id: str, count: int, timeout_s: float = 60.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            return await _rpc(nc, c.GENERATIONS_CREATE, {"model_id": model_id, "count": count, "seed": 1},  # type: ignore[no-any-return]
                              actor_id=payer, timeout=20)
        except (NotFound, Conflict):  # the announced model is still loading
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _finished(nc: Any, payer: str, generation_id: str, timeout_s: float = 120.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        got = await _rpc(nc, c.GENERATIONS_GET, {"id": generation_id}, actor_id=payer)
        if got["status"] in ("succeeded", "failed", "canceled"):
            return got  # type: ignore[no-any-return]
        assert asyncio.get_running_loop().time() < deadline, got
        await asyncio.sleep(0.2)


async def _no_holds(db: Any, timeout_s: float = 90.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while await db.fetchval("SELECT count(*) FROM reservations WHERE status = 'held'"):
        assert asyncio.get_running_loop().time() < deadline, await db.fetch(
            "SELECT * FROM reservations WHERE status = 'held'")
        await asyncio.sleep(0.5)


async def _balance(db: Any, account: str) -> int:
    return int(await db.fetchval("SELECT COALESCE(SUM(amount), 0) FROM entries WHERE account_id = $1", account))


async def _assert_balanced(db: Any) -> None:
    assert await db.fetchval("SELECT COALESCE(SUM(amount), 0) FROM entries") == 0
    assert await db.fetch("SELECT transaction_id FROM entries GROUP BY transaction_id HAVING SUM(amount) <> 0") == []


async def _keys(db: Any, generation_id: str) -> list[str]:
    return [r["key"] for r in await db.fetch("SELECT key FROM transactions WHERE reference = $1 ORDER BY key",
                                             generation_id)]


async def test_redelivered_and_contradicting_outcomes_move_credits_once(own, endpoints, nc, js, db) -> None:  # type: ignore[no-untyped-def]
    _owner, model_id = await _priced_model(endpoints, js, db)
    payer = "payer_" + new_id()[-8:]
    gen = await _create(nc, payer, model_id, 2)
    assert await _balance(db, f"hold:{payer}") in (0, 2 * PRICE)  # held until it settles
    assert (await _finished(nc, payer, gen["id"]))["status"] == "succeeded"
    await _no_holds(db)
    assert await _keys(db, gen["id"]) == [f"reserve:{gen['id']}", f"settle:{gen['id']}"]
    assert await _balance(db, f"user:{payer}") == GRANT - 2 * PRICE

    # The completed event again (a new event id: past JetStream's dedup), then a contradicting failure,
    # then inference's reserve call retried: nothing moves.
    (completed,) = [e for e in await stored_events(js, "inference.generation.completed")
                    if e["data"]["generation_id"] == gen["id"]]
    payload = GenerationCompleted.model_validate(completed["data"])
    await publish_event(js, make_event(payload, service="inference", subject_id=gen["id"]), timeout=5)
    failed = GenerationFailed(generation_id=gen["id"], owner_id=payer, model_id=model_id, version=1, error="late")
    await publish_event(js, make_event(failed, service="inference", subject_id=gen["id"]), timeout=5)
    again = await _rpc(nc, m.RESERVATIONS_CREATE, {"generation_id": gen["id"], "payer_id": payer,
                                                   "model_id": model_id, "version": 1, "count": 2})
    assert again["status"] == "settled" and again["charged"] == 2 * PRICE
    await asyncio.sleep(2.0)  # the redelivered events reach the consumer
    assert await _keys(db, gen["id"]) == [f"reserve:{gen['id']}", f"settle:{gen['id']}"]
    assert await _balance(db, f"user:{payer}") == GRANT - 2 * PRICE

    # A failed generation releases whole, once, however often it is said.
    ghost = new_id()
    held = await _rpc(nc, m.RESERVATIONS_CREATE, {"generation_id": ghost, "payer_id": payer, "model_id": model_id,
                                                  "version": 1, "count": 3})
    assert held == {"generation_id": ghost, "status": "held", "amount": 3 * PRICE, "charged": None}
    for _ in range(2):
        gone = GenerationFailed(generation_id=ghost, owner_id=payer, model_id=model_id, version=1, error="boom")
        await publish_event(js, make_event(gone, service="inference", subject_id=ghost), timeout=5)
    await _no_holds(db)
    assert await _keys(db, ghost) == [f"release:{ghost}", f"reserve:{ghost}"]
    assert await _balance(db, f"user:{payer}") == GRANT - 2 * PRICE

    # Beyond the balance: a 402 naming balance and needed, and nothing held.
    with pytest.raises(AtelierError) as short:
        await _rpc(nc, m.RESERVATIONS_CREATE, {"generation_id": new_id(), "payer_id": payer, "model_id": model_id,
                                               "version": 1, "count": 100})
    assert short.value.status == 402 and short.value.extra["needed"] == 100 * PRICE
    assert short.value.extra["balance"] == GRANT - 2 * PRICE
    await _assert_balanced(db)

    # Each ledger transaction was announced once on MARKET, with its balanced entries.
    await wait_outbox_relayed(endpoints.database_url, "market")
    recorded = {}
    for e in await stored_events(js, "market.transaction.recorded"):
        if e["data"]["reference"] in (gen["id"], ghost):
            assert e["data"]["key"] not in recorded, f"{e['data']['key']} announced twice"
            recorded[e["data"]["key"]] = e["data"]
    assert sorted(recorded) == sorted(await _keys(db, gen["id"]) + await _keys(db, ghost))
    settle = recorded[f"settle:{gen['id']}"]
    assert sum(x["amount"] for x in settle["entries"]) == 0
    assert {x["account_id"]: x["amount"] for x in settle["entries"]}[f"hold:{payer}"] == -2 * PRICE


async def test_sigkill_between_reserve_and_settle_loses_and_doubles_nothing(own, endpoints, nc, js, db) -> None:  # type: ignore[no-untyped-def]
    owner, model_id = await _priced_model(endpoints, js, db)
    payers = [f"payer{i}_" + new_id()[-8:] for i in range(3)]
    accepted: list[tuple[str, str, int]] = []  # (generation id, payer, count)
    refused: list[int] = []
    warm_up = await _create(nc, payers[0], model_id, 1)  # the model is loaded before the stream starts
    stop = asyncio.Event()

    async def stream(payer: str) -> None:
        i = 0
        while not stop.is_set():
            count = 1 + i % 2
            i += 1
            try:
                gen = await _rpc(nc, c.GENERATIONS_CREATE, {"model_id": model_id, "count": count, "seed": i},
                                 actor_id=payer, timeout=15)
                accepted.append((gen["id"], payer, count))
            except AtelierError as exc:  # 503/504 while the market is down; 429 when the queue is full
                refused.append(exc.status)
                await asyncio.sleep(0.2)

    clients = [asyncio.create_task(stream(p)) for p in payers]
    try:
        while len(accepted) < 6:  # noqa: ASYNC110 - the clients append as they go
            await asyncio.sleep(0.05)
        await asyncio.to_thread(own.kill, "market")  # generations reserved, their settlements not yet all in
        killed_with = len(accepted)
        held_at_kill = await db.fetchval("SELECT count(*) FROM reservations WHERE model_id = $1 AND status = 'held'",
                                         model_id)
        await asyncio.sleep(1.5)
        await asyncio.to_thread(own.start, ["market"])
        deadline = asyncio.get_running_loop().time() + 60
        while len(accepted) < killed_with + 6 and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.gather(*clients)
    assert len(accepted) >= killed_with + 6, f"generations did not resume after the restart: {refused}"
    assert held_at_kill > 0, "the kill did not land between a reserve and its settlement"

    outcomes = {g: await _finished(nc, p, g) for g, p, _ in accepted}
    assert (await _finished(nc, payers[0], warm_up["id"]))["status"] == "succeeded"
    await _no_holds(db)
    await _assert_balanced(db)
    spent = dict.fromkeys(payers, 0)
    paid_out = 0
    for generation_id, payer, count in accepted:
        keys = await _keys(db, generation_id)
        status = outcomes[generation_id]["status"]
        expected = "settle" if status == "succeeded" else "release"
        assert keys == sorted([f"reserve:{generation_id}", f"{expected}:{generation_id}"]), (status, keys)
        if status == "succeeded":
            spent[payer] += count * PRICE
            paid_out += count * PRICE
    for payer in payers:  # the warm-up generation of payers[0] paid too
        warm = PRICE if payer == payers[0] else 0
        assert await _balance(db, f"user:{payer}") == GRANT - spent[payer] - warm
        assert await _balance(db, f"hold:{payer}") == 0
    # Reservations with no generation (the kill landed inside a reserve call) were released, once.
    known = [warm_up["id"], *(g for g, _, _ in accepted)]
    orphans = await db.fetch("SELECT generation_id, status FROM reservations WHERE model_id = $1"
                             " AND generation_id <> ALL($2::text[])", model_id, known)
    assert all(r["status"] == "released" for r in orphans), orphans
    for r in orphans:
        assert await _keys(db, r["generation_id"]) == sorted([f"reserve:{r['generation_id']}",
                                                             f"release:{r['generation_id']}"])
    # Owner and artists got exactly the settled payments (with the warm-up's), split per generation.
    received = await db.fetchval(
        "SELECT COALESCE(SUM(e.amount), 0) FROM entries e JOIN transactions t ON t.id = e.transaction_id"
        " WHERE t.kind = 'settle' AND e.account_id = ANY($1::text[])",
        [f"user:{owner}", *(f"user:{a}_{model_id}" for a in ARTISTS)])
    assert received == paid_out + PRICE
    print(f"\n[market] SIGKILL market after {killed_with} accepted generations ({held_at_kill} held, not settled): "
          f"{len(accepted)} accepted in all, "
          f"refused while it was down {sorted(set(refused))} x{len(refused)}, orphan reservations {len(orphans)}")
