"""Consumers and RPC against a real NATS JetStream server."""

from __future__ import annotations

import asyncio
import inspect
import json
import uuid
from collections import Counter

import pytest
from nats.js.api import RetentionPolicy, StreamConfig
from nats.micro.service import ServiceStats
from pydantic import BaseModel

from shared.contracts.events import make_event
from shared.contracts.events.catalog import GenerateJob
from shared.contracts.operation import Operation
from shared.errors import AtelierError, Conflict, GatewayTimeout, ServiceUnavailable, Unprocessable
from shared.logging import bound_context
from shared.messaging.consumer import ConsumerSpec, JetStreamConsumer, Poison, Retry
from shared.messaging.rpc import Call, RpcServer, call


async def _job_stream(js: object) -> tuple[str, str]:
    name = f"TEST_{uuid.uuid4().hex[:8].upper()}"
    subject = f"testjobs.{name.lower()}"
    await js.add_stream(StreamConfig(name=name, subjects=[f"{subject}.>"],  # type: ignore[attr-defined]
                                     retention=RetentionPolicy.WORK_QUEUE))
    return name, subject


def _job(key: str) -> bytes:
    return make_event(GenerateJob(generation_id=key, owner_id="o"), service="test", subject_id=key).to_json()


async def _eventually(check, timeout_s: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not (await result if inspect.isawaitable(result := check()) else result):
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


# Far longer than any stall between a delivery and its ack on a loaded machine: a message comes
# back only when it is nak'ed (or never settled), not because the test process was slow.
ACK_WAIT_S = 30.0


async def _settled(js, stream: str, durable: str) -> bool:  # type: ignore[no-untyped-def]
    """Nothing is left to deliver or awaiting an ack, and the work queue is empty: every message
    was acked, termed or dead-lettered, so none can ever be redelivered."""
    consumer = await js.consumer_info(stream, durable)
    state = (await js.stream_info(stream)).state
    return consumer.num_pending == 0 and consumer.num_ack_pending == 0 and state.messages == 0


async def test_nak_redelivers_term_does_not_and_exhausted_jobs_reach_the_dead_letter_path(nc, js) -> None:
    stream, subject = await _job_stream(js)
    deliveries: Counter[str] = Counter()
    dead: list[str] = []

    async def handle(event, msg) -> None:  # type: ignore[no-untyped-def]
        key = event.subject
        deliveries[key] += 1
        if key == "retry-once" and deliveries[key] == 1:
            raise Retry("not yet", delay_s=0.2)
        if key == "poison":
            raise Poison("never works")
        if key == "always-fails":
            raise RuntimeError("boom")

    async def on_dead(event) -> None:  # type: ignore[no-untyped-def]
        dead.append(event.subject)

    consumer = JetStreamConsumer(
        nc, js, ConsumerSpec(stream=stream, durable="worker", filter_subject=f"{subject}.>", ack_wait_s=ACK_WAIT_S,
                             max_deliver=2, backoff_base_s=0.1),
        handle, on_dead_letter=on_dead,
    )
    await consumer.start()
    try:
        for key in ("retry-once", "poison", "always-fails", "fine"):
            await js.publish(f"{subject}.{key}", _job(key))
        await _eventually(lambda: deliveries["retry-once"] == 2 and dead == ["always-fails"] and deliveries["fine"])
        # Acked, termed and dead-lettered jobs leave the work queue and nothing awaits an ack (a
        # poison message left unsettled instead of termed would hold this up for ACK_WAIT_S).
        await _eventually(lambda: _settled(js, stream, "worker"))
        assert deliveries == {"retry-once": 2, "poison": 1, "always-fails": 2, "fine": 1}
    finally:
        await consumer.stop()


async def test_unparseable_message_is_dropped_not_redelivered(nc, js) -> None:
    stream, subject = await _job_stream(js)
    seen: list[str] = []

    async def handle(event, msg) -> None:  # type: ignore[no-untyped-def]
        seen.append(event.subject)

    consumer = JetStreamConsumer(nc, js, ConsumerSpec(stream, "worker", f"{subject}.>", ack_wait_s=ACK_WAIT_S),
                                 handle)
    await consumer.start()
    try:
        await js.publish(f"{subject}.junk", b"{not json")
        await js.publish(f"{subject}.ok", _job("ok"))
        await _eventually(lambda: seen == ["ok"])
        # The junk was termed, not left to come back: the queue is empty and nothing awaits an ack.
        await _eventually(lambda: _settled(js, stream, "worker"))
        assert seen == ["ok"]
    finally:
        await consumer.stop()


class Body(BaseModel):
    name: str


class Claimed(BaseModel):
    name: str
    actor: str
    request: str


class Nothing(BaseModel):
    pass


async def test_rpc_errors_reach_the_caller_typed(nc) -> None:
    service = f"test{uuid.uuid4().hex[:8]}"
    # Throw-away declarations (built directly, so they are not registered with the platform's contracts).
    claim_op = Operation(service, "claim", Body, Claimed, "claim a name", actor="optional")
    crash_op = Operation(service, "crash", Nothing, None, "fail", actor="none")
    slow_op = Operation(service, "slow", Nothing, None, "take long", actor="none")
    rpc = RpcServer(nc, service)

    async def claim(body: Body, call_: Call) -> dict[str, str]:
        if body.name == "taken":
            raise Conflict("that name is taken", errors=[{"field": "name", "message": "taken"}])
        return {"name": body.name, "actor": call_.actor_id or "", "request": call_.headers.get("X-Request-ID", "")}

    async def crash(body: Nothing, call_: Call) -> None:
        raise RuntimeError("internal secret")

    async def slow(body: Nothing, call_: Call) -> None:
        await asyncio.sleep(2)

    rpc.serve(claim_op, claim)
    rpc.serve(crash_op, crash)
    rpc.serve(slow_op, slow)
    await rpc.start()
    try:
        with bound_context(request_id="req-42"):
            ok = (await call(nc, claim_op, {"name": "ada"}, timeout=2, actor_id="user-1")).model_dump()
        assert ok == {"name": "ada", "actor": "user-1", "request": "req-42"}

        with pytest.raises(Conflict) as conflict:
            await call(nc, claim_op, {"name": "taken"}, timeout=2)
        assert conflict.value.detail == "that name is taken"
        assert conflict.value.errors == [{"field": "name", "message": "taken"}]

        with pytest.raises(Unprocessable) as invalid:
            await call(nc, claim_op, {"nom": 1}, timeout=2)
        assert invalid.value.errors and invalid.value.errors[0]["field"] == "name"

        with pytest.raises(AtelierError) as crashed:
            await call(nc, crash_op, {}, timeout=2)
        assert crashed.value.status == 500 and "secret" not in crashed.value.detail

        with pytest.raises(GatewayTimeout):
            await call(nc, slow_op, {}, timeout=0.3)
        with pytest.raises(ServiceUnavailable):
            await call(nc, Operation("nobody-home", "anything", Nothing, None, "nobody serves this"), {}, timeout=1)

        # Discovery is NATS micro's: PING (with the start time), INFO (every endpoint), STATS (what each served).
        ping = json.loads((await nc.request(f"$SRV.PING.{service}", b"", timeout=2)).data)
        assert ping["type"] == "io.nats.micro.v1.ping_response" and "started_ms" in ping["metadata"]
        info = json.loads((await nc.request(f"$SRV.INFO.{service}.{ping['id']}", b"", timeout=2)).data)
        assert sorted(ep["subject"] for ep in info["endpoints"]) == sorted(
            op.subject for op in (claim_op, crash_op, slow_op))
        stats = ServiceStats.from_dict(json.loads((await nc.request(f"$SRV.STATS.{service}", b"", timeout=2)).data))
        served = {ep.name: (ep.num_requests, ep.num_errors) for ep in stats.endpoints}
        assert served["claim"] == (3, 2) and served["crash"] == (1, 1), served  # 409 and 422; the 500
        assert all(ep.processing_time > 0 for ep in stats.endpoints if ep.name != "slow")
    finally:
        await rpc.stop()


async def test_a_watched_call_answers_503_soon_when_its_handler_dies_and_a_replacement_is_already_up(
        nc, endpoints) -> None:
    """SIGKILL of the instance holding a request, restarted by a supervisor within a second: the
    replacement answers PING but never got the request, so the caller is told at once (503) rather
    than after the operation's whole deadline."""
    from shared.messaging.connection import connect

    service = f"test{uuid.uuid4().hex[:8]}"
    hang_op = Operation(service, "hang", Nothing, None, "never answers", actor="none", timeout_s=30)
    received = asyncio.Event()

    async def hang(body: Nothing, call_: Call) -> None:
        received.set()
        await asyncio.sleep(3600)

    first_nc = await connect(endpoints.nats_url, name="doomed")
    doomed = RpcServer(first_nc, service)
    doomed.serve(hang_op, hang)
    await doomed.start()
    replacement_nc = await connect(endpoints.nats_url, name="replacement")
    replacement = RpcServer(replacement_nc, service)
    replacement.serve(hang_op, hang)
    try:
        began = asyncio.get_running_loop().time()
        pending = asyncio.ensure_future(call(nc, hang_op, {}, watch_peer=True))
        await asyncio.wait_for(received.wait(), 5)
        await first_nc.close()  # its subscriptions go with its connection, as with a killed process
        await asyncio.sleep(0.1)
        await replacement.start()  # up before the caller's first check
        with pytest.raises(ServiceUnavailable, match="stopped while handling"):
            await pending
        assert asyncio.get_running_loop().time() - began < 8, "waited out (most of) the 30 s deadline"
    finally:
        await replacement.stop()
        await replacement_nc.close()


async def test_a_watched_call_answers_503_soon_when_its_handler_dies_beside_an_older_replica(nc, endpoints) -> None:
    """Two replicas serve, both started before the request: the one holding it dies. The other still
    answers PING, so start times cannot tell; the caller asked which instance holds its call and
    watches that one, so it hears 503 in seconds instead of at the 30 s deadline."""
    from shared.messaging.connection import connect

    service = f"test{uuid.uuid4().hex[:8]}"
    hang_op = Operation(service, "hang", Nothing, None, "never answers", actor="none", timeout_s=30)
    holders: list[str] = []
    received = asyncio.Event()

    def hang_as(name: str):  # type: ignore[no-untyped-def]
        async def hang(body: Nothing, call_: Call) -> None:
            holders.append(name)
            received.set()
            await asyncio.sleep(3600)
        return hang

    conns = {name: await connect(endpoints.nats_url, name=name) for name in ("a", "b")}
    servers = {name: RpcServer(conn, service) for name, conn in conns.items()}
    for name, server in servers.items():
        server.serve(hang_op, hang_as(name))
        await server.start()
    try:
        began = asyncio.get_running_loop().time()
        pending = asyncio.ensure_future(call(nc, hang_op, {}, watch_peer=True))
        await asyncio.wait_for(received.wait(), 5)
        await asyncio.sleep(0.5)  # the caller has learnt which instance holds the call
        doomed, survivor = holders[0], ("b" if holders[0] == "a" else "a")
        await conns[doomed].close()  # its subscriptions go with its connection, as with a killed process
        with pytest.raises(ServiceUnavailable, match="stopped while handling"):
            await pending
        assert asyncio.get_running_loop().time() - began < 6, "waited out (most of) the 30 s deadline"
        assert holders == [doomed]  # the survivor never saw the request: nothing ran twice
    finally:
        await servers[survivor].stop(drain_s=0.1)
        await conns[survivor].close()


async def test_a_watched_call_in_flight_during_a_graceful_stop_gets_its_answer(nc) -> None:
    """Stopping an instance lets its requests in flight answer; a watching caller must not take the
    stop for a death (the instance still answers for the calls it holds until they are done)."""
    service = f"test{uuid.uuid4().hex[:8]}"
    slow_op = Operation(service, "slow", Nothing, Nothing, "answers after 2.5 s", actor="none", timeout_s=30)
    received = asyncio.Event()

    async def slow(body: Nothing, call_: Call) -> Nothing:
        received.set()
        await asyncio.sleep(2.5)
        return Nothing()

    rpc = RpcServer(nc, service)
    rpc.serve(slow_op, slow)
    await rpc.start()
    pending = asyncio.ensure_future(call(nc, slow_op, {}, watch_peer=True))
    await asyncio.wait_for(received.wait(), 5)
    await rpc.stop(drain_s=10)  # returns once the request has answered
    assert isinstance(await asyncio.wait_for(pending, 5), Nothing)


async def test_one_operation_serves_many_requests_at_once_and_stop_lets_them_answer(nc) -> None:
    """A slow request (a password hash, a big query) does not hold up the next ones of the same
    operation, at most `concurrency` run at once, and stopping the server lets those in flight answer."""
    service = f"test{uuid.uuid4().hex[:8]}"
    slow_op = Operation(service, "slow", Nothing, None, "half a second", actor="none", timeout_s=20)
    running = peak = 0

    async def slow(body: Nothing, call_: Call) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            await asyncio.sleep(0.5)
        finally:
            running -= 1

    rpc = RpcServer(nc, service, concurrency=4)
    rpc.serve(slow_op, slow)
    await rpc.start()
    try:
        began = asyncio.get_running_loop().time()
        await asyncio.gather(*(call(nc, slow_op, {}) for _ in range(8)))
        took = asyncio.get_running_loop().time() - began
        assert peak == 4, peak  # four at a time, never more
        assert took < 2.5, f"8 requests of 0.5 s took {took:.1f} s (one at a time would be 4 s)"
        pending = [asyncio.ensure_future(call(nc, slow_op, {})) for _ in range(3)]
        await _eventually(lambda: rpc.in_flight == 3)
    finally:
        await rpc.stop(drain_s=5)
    assert [await p for p in pending] == [None, None, None]  # answered while stopping, not dropped


async def test_stop_answers_the_requests_held_back_behind_busy_slots(nc) -> None:
    """Requests the server already delivered to a stopping instance, waiting in its client for a free
    slot, are answered too (a drain, not nats-py's unsubscribe that drops them: each caller would
    wait out its deadline, a 504, in every rolling restart)."""
    service = f"test{uuid.uuid4().hex[:8]}"
    slow_op = Operation(service, "slow", Nothing, None, "0.3 s each, one at a time", actor="none", timeout_s=8)
    started = 0

    async def slow(body: Nothing, call_: Call) -> None:
        nonlocal started
        started += 1
        await asyncio.sleep(0.3)

    rpc = RpcServer(nc, service, concurrency=1)
    rpc.serve(slow_op, slow)
    await rpc.start()
    pending = [asyncio.ensure_future(call(nc, slow_op, {})) for _ in range(4)]
    await _eventually(lambda: started == 1)
    await asyncio.sleep(0.1)  # the other three have reached this client and wait behind the busy slot
    await rpc.stop(drain_s=5)
    results = await asyncio.gather(*pending, return_exceptions=True)
    assert results == [None, None, None, None], results
    assert started == 4
