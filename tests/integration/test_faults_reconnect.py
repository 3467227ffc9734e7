"""A call held across a NATS reconnect, against a real 3-node NATS cluster of the test's own with the
platform's users and permissions (deploy/local/nats_cluster.py).

The serving instance (identity `community`) holds a slow request when its node is SIGKILLed (and
started again); the instance reconnects to another node, where the server refuses its reply (the
reply permission, `allow_responses`, belonged to the old connection). Its holder answers LOST from
then on, so the caller (identity `gateway`, watching its call as the gateway does) gets a 503 with
Retry-After within seconds instead of waiting out the deadline; its retry with the same
Idempotency-Key is answered, and the first answer, when the handler ends, is dropped with a warning
carrying the request id. A reply the server refuses is traced to its call, which becomes LOST.
The figures are printed (`pytest -s` shows them).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import structlog
from nats.aio.client import Client as NATS
from pydantic import BaseModel
from structlog.testing import capture_logs

from deploy.local import nats_auth, procs
from deploy.local.nats import READY_TIMEOUT_S, nats_binary
from deploy.local.nats_cluster import NODES, node_name, start_nats_cluster
from deploy.local.restart import config_port, nats_node_ready
from shared.contracts.common import IDEMPOTENCY_HEADER
from shared.contracts.operation import Operation
from shared.errors import ServiceUnavailable
from shared.logging import bound_context
from shared.messaging import liveness
from shared.messaging.connection import connect
from shared.messaging.permissions import inbox_prefix
from shared.messaging.rpc import Call, RpcServer, call_raw
from tests.support.killable import sigkill
from tests.support.waiting import eventually

HOLD_S = 20.0  # how long the first run of the slow call takes unless the test lets it end sooner
DEADLINE_S = 25.0
LIMIT_S = 5.0  # from the kill to the caller's 503


class Empty(BaseModel):
    pass


class Runs(BaseModel):
    runs: int


SLOW: Operation[Empty, Runs] = Operation("community", "test.slow", Empty, Runs, "slow the first time a key is seen",
                                         actor="none", timeout_s=DEADLINE_S)


class SlowService(RpcServer):
    def missing(self) -> list[str]:
        return []  # this test's instance serves its one operation, not community's


async def _slow(nc: NATS, headers: dict[str, str], tries: int = 1) -> Runs:
    """Call SLOW, watching it as the gateway does; on a 503 again after its Retry-After, as a client does."""
    for attempt in range(1, tries + 1):
        try:
            return Runs.model_validate(orjson.loads(await call_raw(nc, SLOW, {}, headers=headers, watch_peer=True)))
        except ServiceUnavailable as refused:
            if attempt == tries:
                raise
            await asyncio.sleep(float(refused.headers["Retry-After"]))
    raise AssertionError("unreachable")


class Cluster:
    """The module's NATS nodes: their records (to kill), configs (to start again) and client URLs."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.records: dict[str, procs.ProcRecord] = {}
        self.everything: list[procs.ProcRecord] = []
        server = start_nats_cluster(state, on_spawn=self._spawned)
        self.urls = server.server_url.split(",")
        self.passwords = nats_auth.read_credentials(server.credentials_file)

    def _spawned(self, record: procs.ProcRecord) -> None:
        self.records[record.name] = record
        self.everything.append(record)

    def kill(self, index: int) -> None:
        sigkill(self.records[node_name(index)])

    def start_again(self, index: int) -> None:
        config = self.state / f"nats-n{index}.conf"
        log = self.state / "logs" / f"{node_name(index)}.log"
        proc, _ = procs.spawn(node_name(index), [str(nats_binary()), "-c", str(config)], log, on_spawn=self._spawned)
        monitor = f"http://127.0.0.1:{config_port(config, 'http')}"
        procs.wait_ready(node_name(index), proc, lambda: nats_node_ready(monitor, NODES - 1), log, READY_TIMEOUT_S)

    async def client(self, identity: str, nodes: list[int]) -> NATS:
        """`identity`'s connection, to the first of `nodes` (then the others, in that order)."""
        urls = ",".join(self.urls[i - 1] for i in nodes)
        return await connect(urls, name=f"reconnect-{identity}", user=identity, password=self.passwords[identity],
                             inbox_prefix=inbox_prefix(identity), dont_randomize=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    nodes = Cluster(tmp_path_factory.mktemp("reconnect-nats"))
    try:
        yield nodes
    finally:
        assert not procs.stop_all(nodes.everything, grace_s=5), "a NATS node outlived SIGKILL"


# The caller on another node, or on the killed one too (then both reconnect).
@pytest.mark.parametrize("caller_nodes", [[3, 2], [1, 3, 2]], ids=["caller-elsewhere", "caller-on-the-same-node"])
async def test_a_call_held_across_a_reconnect_ends_in_seconds_and_its_retry_is_answered(
        cluster: Cluster, caller_nodes: list[int]) -> None:
    runs: dict[str, int] = {}
    holding, finish = asyncio.Event(), asyncio.Event()

    async def slow(body: Empty, call: Call) -> Runs:
        key = call.idempotency_key
        if key is None:
            return Runs(runs=0)  # a probe: is the instance reachable from the caller's node yet?
        runs[key] = runs.get(key, 0) + 1
        if runs[key] == 1:  # the first run is slow; a retry finds the work done, as a service's by key does
            holding.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finish.wait(), HOLD_S)
        return Runs(runs=runs[key])

    service_nc = await cluster.client("community", [1, 2, 3])  # on node 1, the one killed
    caller_nc = await cluster.client("gateway", caller_nodes)
    service = SlowService(service_nc, "community")
    service.serve(SLOW, slow)
    await service.start()
    headers = {IDEMPOTENCY_HEADER: "reconnect-key-1"}
    restarting: asyncio.Future[Any] | None = None

    async def reachable() -> bool:  # the subscriptions travel to the caller's node over the cluster routes
        try:
            return (await _slow(caller_nc, {})).runs == 0
        except ServiceUnavailable:
            return False

    try:
        await eventually(reachable, timeout_s=10, every_s=0.1)
        with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            with bound_context(request_id="req-reconnect-1"):
                first = asyncio.ensure_future(call_raw(caller_nc, SLOW, {}, headers=headers, watch_peer=True))
            await asyncio.wait_for(holding.wait(), 10)
            await asyncio.sleep(1.5)  # the caller's watch has found the holder and probes it
            killed = time.monotonic()
            await asyncio.to_thread(cluster.kill, 1)
            restarting = asyncio.ensure_future(asyncio.to_thread(cluster.start_again, 1))
            with pytest.raises(ServiceUnavailable, match="stopped while handling") as refused:
                await first
            to_503_s = time.monotonic() - killed
            assert refused.value.headers["Retry-After"] == "1"
            assert service_nc.connected_url is not None and service_nc.connected_url.port != int(
                cluster.urls[0].rsplit(":", 1)[1]), "the service did not move to another node"

            began = time.monotonic()
            with bound_context(request_id="req-reconnect-2"):
                answer = await _slow(caller_nc, headers, tries=3)
            retry_s = time.monotonic() - began
            assert answer.runs == 2, "the retry did not run on the service"

            finish.set()  # the first run ends now: its answer has nowhere to go

            async def idle() -> bool:
                return service.in_flight == 0

            await eventually(idle, timeout_s=5, every_s=0.05)

            # A reply the server refuses anyway (it left only after the reconnect) makes its call LOST too.
            holdings = service._holdings
            holdings.hold("refused-call", holdings.connection(), "_INBOX_gateway.Refused.1")
            await service_nc.publish("_INBOX_gateway.Refused.1", b"")

            async def lost() -> bool:
                return holdings.answer_for("refused-call") == liveness.LOST

            await eventually(lost, timeout_s=5, every_s=0.05)
        dropped = [e for e in logs if e["event"] == "rpc.reply_dropped"]
        assert [e.get("request_id") for e in dropped] == ["req-reconnect-1"], dropped
        served = [e.get("request_id") for e in logs if e["event"] == "rpc.served"]
        assert served == ["req-reconnect-2"], served
        print(f"\n[reconnect] caller on nodes {caller_nodes}, service on node 1, node 1 killed: 503 {to_503_s:.2f} s "
              f"after the kill (deadline {DEADLINE_S:.0f} s, handler {HOLD_S:.0f} s); retry answered in "
              f"{retry_s * 1000:.0f} ms (tries included); the first answer dropped with a warning")
        assert to_503_s <= LIMIT_S, f"the caller waited {to_503_s:.1f} s for its 503"
    finally:
        finish.set()
        await service.stop(drain_s=2)
        await service_nc.close()
        await caller_nc.close()
        if restarting is not None:
            await restarting
