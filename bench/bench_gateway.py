"""The gateway's cost and its live fan-out, measured against baselines in the same run.

1. GET /v1/works/{id} through the gateway (HTTP, JWT check, rate limits, RPC) vs the same
   `svc.community.works.get` RPC called directly over NATS, alternated each round
   (ATELIER_BENCH_ROUNDS, default 4): latency one request at a time (p50/p99 over all rounds)
   and throughput with 32 requests in flight. Goal: gateway >= 0.7 of the direct RPC, judged on the
   lower of the paired throughput ratio and the CPU-per-request ratio (load generator apart).
2. WebSocket fan-out: N clients (default 1,000) subscribed to `public` in one process; for each of
   FANOUT_EVENTS (default 320, so that p99 is not simply the maximum) events published to
   JetStream, the time until the last client has it (p50/p99), next to the time until the first
   one has it (the single-delivery baseline). Reported; no goal is declared for it.

    python -m bench.bench_gateway [N_CLIENTS]
"""

from __future__ import annotations

import asyncio
import io
import os
import resource
import secrets
import sys
import time
from typing import Any

import aiohttp
from PIL import Image

from bench.common import report, started_stack
from bench.harness import (
    CpuMeter,
    Goal,
    alternate_async,
    cpu_ms_per_unit,
    current,
    median_roles,
    platform_cpu_ms,
    rounds,
    show_cpu,
    show_percentile,
    spread,
)
from shared.contracts import community
from shared.contracts.events import make_event
from shared.contracts.events.catalog import WorkPublished
from shared.ids import new_id
from shared.messaging.connection import connect
from shared.messaging.publisher import publish_event
from shared.messaging.rpc import call_raw

SEQUENTIAL = 150  # per round
CONCURRENT = 1500  # per round
IN_FLIGHT = 32
FANOUT_EVENTS = int(os.environ.get("ATELIER_BENCH_FANOUT_EVENTS", "320"))
THROUGHPUT = Goal("gateway.works_get_vs_rpc", f"GET /v1/works/{{id}} via gateway, {IN_FLIGHT} in flight "
                  "(req/s and CPU per request)", "the same works.get RPC called directly over NATS", ">=", 0.7)
# The limiter still runs on every request; only its thresholds are lifted out of the way.
BENCH_ENV = {"ATELIER_RATE_LIMIT_IP_PER_S": "1000000", "ATELIER_RATE_LIMIT_IP_BURST": "1000000",
             "ATELIER_RATE_LIMIT_USER_PER_S": "1000000", "ATELIER_RATE_LIMIT_USER_BURST": "1000000",
             "ATELIER_LOG_LEVEL": "warning",
             "ATELIER_QUOTAS_ENABLED": "false"}  # the fan-out opens hundreds of sockets as one user


def raise_fd_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, wanted), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


async def make_work(http: aiohttp.ClientSession) -> tuple[str, str, str]:
    """Sign up, upload an image and publish a work; returns (user id, token, work id)."""
    name = "bench_" + secrets.token_hex(4)
    async with http.post("/v1/auth/signup", json={"username": name, "email": f"{name}@example.com",
                                                  "password": "bench password 1"}) as resp:
        assert resp.status == 201, await resp.text()
        session = await resp.json()
    auth = {"Authorization": f"Bearer {session['token']}"}
    buf = io.BytesIO()
    Image.frombytes("RGB", (32, 32), secrets.token_bytes(32 * 32 * 3)).save(buf, "PNG")
    async with http.post("/v1/assets", data=buf.getvalue(), headers={**auth, "Content-Type": "image/png"}) as resp:
        assert resp.status == 201, await resp.text()
        asset = await resp.json()
    async with http.post("/v1/works", json={"title": "Bench", "asset_ids": [asset["id"]]}, headers=auth) as resp:
        assert resp.status == 201, await resp.text()
        work = await resp.json()
    return session["user"]["id"], session["token"], work["id"]


async def timed(n: int, in_flight: int, once: Any) -> tuple[list[float], float]:
    latencies: list[float] = []
    remaining = iter(range(n))

    async def worker() -> None:
        for _ in remaining:
            start = time.perf_counter()
            await once()
            latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return latencies, n / (time.perf_counter() - began)


async def bench_works_get(stack: Any) -> None:
    results = current()
    connector = aiohttp.TCPConnector(limit=IN_FLIGHT * 2)
    meter = CpuMeter(stack.pids())
    cpu: dict[str, list[dict[str, float]]] = {}
    latencies: dict[str, list[float]] = {"gateway": [], "direct": []}
    async with aiohttp.ClientSession(base_url=stack.service_urls["gateway"], connector=connector) as http:
        user_id, token, work_id = await make_work(http)
        headers = {"Authorization": f"Bearer {token}"}
        nc = await connect(stack.endpoints.nats_url, name="bench-gateway")

        async def via_gateway() -> None:
            async with http.get(f"/v1/works/{work_id}", headers=headers) as resp:
                assert resp.status == 200
                await resp.read()

        async def direct() -> None:
            await call_raw(nc, community.WORKS_GET, {"id": work_id}, timeout=10, actor_id=user_id)

        def step(name: str, once: Any) -> Any:
            async def go() -> float:
                seq, _ = await timed(SEQUENTIAL, 1, once)
                latencies[name] += seq
                before = meter.snapshot()
                _, rps = await timed(CONCURRENT, IN_FLIGHT, once)
                cpu.setdefault(name, []).append(cpu_ms_per_unit(before, meter.snapshot(), CONCURRENT))
                return rps
            return go

        try:
            for once in (via_gateway, direct):  # warm up both paths
                await timed(100, 4, once)
            rates = await alternate_async(rounds(4), {"gateway": step("gateway", via_gateway),
                                                      "direct": step("direct", direct)})
        finally:
            await nc.close()
    for name in ("gateway", "direct"):
        ms = [1000 * s for s in latencies[name]]
        print(f"gateway.works_get.{name}: 1 in flight p50 {show_percentile(ms, 50)}, p99 {show_percentile(ms, 99)}",
              flush=True)
        results.figure(f"gateway.works_get.{name}.throughput", spread(rates[name]), f"req/s ({IN_FLIGHT} in flight)")
        show_cpu(f"gateway.works_get.{name}", median_roles(cpu[name]))
    results.check_throughput(THROUGHPUT, rates["gateway"], rates["direct"],
                             system_cpu_ms=platform_cpu_ms(cpu["gateway"]),
                             baseline_cpu_ms=platform_cpu_ms(cpu["direct"]))


async def bench_fanout(gateway_url: str, nats_url: str, n_clients: int) -> None:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(base_url=gateway_url, connector=connector) as http:
        _, token, _ = await make_work(http)
        arrivals: dict[str, list[float]] = {}
        everyone = asyncio.Event()

        async def client() -> Any:
            ws = await http.ws_connect("/v1/events", protocols=("atelier.v1", f"bearer.{token}"))
            await ws.send_json({"subscribe": ["public"]})
            while "subscribed" not in await ws.receive_json(timeout=60):
                pass
            return ws

        async def listen(ws: Any) -> None:
            async for msg in ws:
                doc = msg.json()
                times = arrivals.setdefault(doc.get("id", ""), [])
                times.append(time.perf_counter())
                if len(times) == n_clients:
                    everyone.set()

        began = time.perf_counter()
        sockets = []
        for start in range(0, n_clients, 100):  # connect in waves, as clients would after a deploy
            sockets += await asyncio.gather(*(client() for _ in range(min(100, n_clients - start))))
        connect_s = time.perf_counter() - began
        listeners = [asyncio.create_task(listen(ws)) for ws in sockets]
        nc = await connect(nats_url, name="bench-fanout")
        js = nc.jetstream(timeout=5)
        last_s, first_s = [], []
        try:
            for i in range(FANOUT_EVENTS + 2):
                event = make_event(WorkPublished(work_id=new_id(), author_id=new_id(), title=f"fan-out {i}",
                                                 origin="human", tags=[], asset_ids=[new_id()], visibility="public"),
                                   service="bench", subject_id=new_id())
                everyone.clear()
                sent = time.perf_counter()
                await publish_event(js, event, timeout=5)
                await asyncio.wait_for(everyone.wait(), 60)
                if i >= 2:  # two warm-up events
                    times = arrivals[event.id]
                    first_s.append(min(times) - sent)
                    last_s.append(max(times) - sent)
        finally:
            for task in listeners:
                task.cancel()
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
            await nc.close()
    last, first = [1000 * s for s in last_s], [1000 * s for s in first_s]
    report("gateway.fanout.clients", f"{n_clients}, {len(last)} events")
    report("gateway.fanout.connect_all", connect_s, "s")
    report("gateway.fanout.all_clients.p50", show_percentile(last, 50))
    report("gateway.fanout.all_clients.p99", show_percentile(last, 99))
    report("gateway.fanout.first_client.p50", show_percentile(first, 50))
    report("gateway.fanout.first_client.p99", show_percentile(first, 99))


def main() -> None:
    n_clients = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    report("gateway.fd_limit", str(raise_fd_limit(n_clients * 2 + 512)))  # inherited by the services too
    os.environ.update(BENCH_ENV)
    with started_stack(services=["community", "assets", "gateway"]) as stack:
        asyncio.run(bench_works_get(stack))
        asyncio.run(bench_fanout(stack.service_urls["gateway"], stack.endpoints.nats_url, n_clients))


if __name__ == "__main__":
    main()
