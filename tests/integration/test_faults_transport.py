"""Transport faults against a real nats-server of the test's own: nobody serving an operation and
NATS being down answer 503 in milliseconds, and Idempotency-Key leases in the real KV bucket are
renewed while held, taken over once their holder stops, and fail fast while NATS is down."""

from __future__ import annotations

import asyncio
import time

import pytest
from nats.aio.client import Client as NATS
from pydantic import BaseModel

from services.gateway.idempotency_store import NatsIdempotencyStore, StoreUnavailable
from shared.contracts.operation import Operation
from shared.errors import ServiceUnavailable
from shared.messaging.connection import connect
from shared.messaging.rpc import call_raw
from tests.support.nats import RestartableNats


class Empty(BaseModel):
    pass


async def disconnected(nc: NATS) -> None:
    for _ in range(250):
        if not nc.is_connected:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the client did not notice NATS going away")


NOBODY = Operation("nobody", "thing.get", Empty, None, "an operation nobody serves", actor="none", timeout_s=10.0)


async def test_no_responders_and_nats_down_answer_503_in_milliseconds(own_nats: RestartableNats) -> None:
    nc = await connect(own_nats.url, name="faults-transport")
    try:
        started = time.perf_counter()
        with pytest.raises(ServiceUnavailable) as raised:
            await call_raw(nc, NOBODY, {})
        no_responders_ms = (time.perf_counter() - started) * 1000
        assert raised.value.headers["Retry-After"] == "1"
        own_nats.stop()
        await disconnected(nc)
        started = time.perf_counter()
        with pytest.raises(ServiceUnavailable):
            await call_raw(nc, NOBODY, {})
        nats_down_ms = (time.perf_counter() - started) * 1000
        print(f"\n[faults] 503 with no responders in {no_responders_ms:.1f} ms, with NATS down in "
              f"{nats_down_ms:.1f} ms (deadline {NOBODY.timeout_s:.0f} s)")
        assert no_responders_ms < 500 and nats_down_ms < 100
    finally:
        await nc.close()


async def test_kv_leases_renew_take_over_and_fail_fast(own_nats: RestartableNats) -> None:
    nc = await connect(own_nats.url, name="faults-kv")
    try:
        js = nc.jetstream(timeout=5)
        holder = await NatsIdempotencyStore.open(js, "idempotency-test", 3600, 1.0, nc=nc)
        retry = NatsIdempotencyStore(holder._kv, 1.0, nc=nc)  # another replica on the same bucket
        assert await holder.reserve("alive", "f") is None
        assert await holder.reserve("dead", "f") is None
        reserved_at = time.monotonic()
        taken_over_s = None
        while time.monotonic() - reserved_at < 3.0:  # three leases: "alive" renewed, "dead" not
            await asyncio.sleep(0.25)
            assert await holder.renew("alive")
            found = await retry.reserve("alive", "f")
            assert found is not None and found.state == "pending", "a renewed lease was taken over"
            if taken_over_s is None and await retry.reserve("dead", "f") is None:
                taken_over_s = time.monotonic() - reserved_at
        print(f"\n[faults] a dead holder's key (lease 1 s) was free again after {taken_over_s} s")
        assert taken_over_s is not None and 0.9 <= taken_over_s <= 1.6
        assert not await holder.renew("dead")  # the holder lost it: its late release must not free the retry's
        await holder.release("dead")
        assert await retry.renew("dead")  # still the retry's: the old holder's late release freed nothing
        own_nats.stop()
        await disconnected(nc)
        started = time.perf_counter()
        with pytest.raises(StoreUnavailable):
            await retry.reserve("other", "f")
        assert time.perf_counter() - started < 0.1
    finally:
        await nc.close()
