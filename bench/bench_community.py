"""Community read paths at scale: the feed and a single work through gateway → NATS → community,
alternated in the same run with the monolith baseline (bench/monolith.py: one aiohttp + asyncpg
process, same query, token check and JSON) and with the direct RPC (what the gateway adds).

Seeds 100k users, 1M works, 5M likes and 20 follows per user with COPY (scale with
ATELIER_BENCH_SCALE, e.g. 0.05), prints the query plans (EXPLAIN ANALYZE), then per round drives
each path from 32 concurrent clients for ATELIER_BENCH_SECONDS (default 10; ATELIER_BENCH_ROUNDS,
default 3), with CPU ms per request per process from /proc (the load generator apart).
Goals: gateway >= 0.8 of the monolith for both reads (issue 18), judged on the lower of the
paired throughput ratio and the CPU-per-request ratio (see harness.Results.check_throughput);
feed p99 <= 15 ms through the gateway.

    python -m bench.bench_community
    ATELIER_BENCH_SCALE=0.05 ATELIER_BENCH_SECONDS=5 python -m bench.bench_community
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
import numpy as np
from argon2 import PasswordHasher
from ulid import ULID

from bench.common import started_stack
from bench.harness import (
    CpuMeter,
    Goal,
    alternate_async,
    cpu_ms_per_unit,
    current,
    median_roles,
    paired_ratios,
    percentile,
    platform_cpu_ms,
    rounds,
    show_cpu,
    show_percentile,
    spread,
)
from services.community.store.feeds import explain
from services.community.tokens import TokenIssuer, load_private_key
from shared.contracts import community
from shared.contracts.operation import Operation
from shared.messaging.connection import connect
from shared.messaging.rpc import call_raw

SCALE = float(os.environ.get("ATELIER_BENCH_SCALE", "1"))
SECONDS = float(os.environ.get("ATELIER_BENCH_SECONDS", "10"))
CONCURRENCY = int(os.environ.get("ATELIER_BENCH_CONCURRENCY", "32"))
MONOLITH = "one aiohttp + asyncpg process, same query, token check and JSON"
FEED_VS_MONOLITH = Goal("community.feed_vs_monolith", f"GET /v1/feed via gateway, {CONCURRENCY} clients "
                        "(req/s and CPU per request)", MONOLITH, ">=", 0.8)
WORK_VS_MONOLITH = Goal("community.work_vs_monolith", f"GET /v1/works/{{id}} via gateway, {CONCURRENCY} clients "
                        "(req/s and CPU per request)", MONOLITH, ">=", 0.8)
FEED_P99 = Goal("community.feed_p99", f"GET /v1/feed via gateway p99, {CONCURRENCY} clients", "", "<=", 15.0, "ms")
FOLLOWS_PER_USER = 20
CHUNK = 250_000
WORDS = ("harbour dusk meadow lantern tide ember quiet violet storm garden mirror orbit salt paper "
         "glass river fox moth copper dune frost neon velvet ash cedar hollow lumen marble echo bloom").split()
TAGS = [f"{a}-{b}" for a in ("ink", "oil", "pixel", "clay", "light") for b in
        ("sea", "city", "face", "forest", "sky", "dream", "night", "abstract", "animal", "flower")]


def _ulids(timestamps: np.ndarray) -> list[str]:
    return [str(ULID.from_timestamp(float(t))) for t in timestamps]


async def _copy(conn: asyncpg.Connection, table: str, columns: list[str], rows: Any) -> None:
    await conn.copy_records_to_table(table, records=rows, columns=columns, schema_name="community")


async def seed(pool: asyncpg.Pool, scale: float) -> dict[str, list[str]]:
    """Users, works (newest last), skewed likes and follows, with counters and scores consistent."""
    rng = np.random.default_rng(7)
    n_users, n_works, n_likes = int(100_000 * scale), int(1_000_000 * scale), int(5_000_000 * scale)
    now = time.time()
    user_ts = np.sort(now - rng.uniform(90 * 86400, 365 * 86400, n_users))
    user_ids = _ulids(user_ts)
    work_ts = np.sort(now - rng.uniform(0, 60 * 86400, n_works))
    work_ids = _ulids(work_ts)
    authors = rng.integers(0, n_users, n_works)
    visibility = rng.choice(np.array(["public", "unlisted", "private"]), n_works, p=[0.9, 0.05, 0.05])
    listed = np.flatnonzero(visibility != "private")
    # Likes: popular works get most of them; only works others can see are liked.
    popular = rng.permutation(listed)
    like_users = rng.integers(0, n_users, n_likes)
    like_works = popular[(rng.random(n_likes) ** 3 * len(popular)).astype(np.int64)]
    like_keys = np.unique(like_users.astype(np.int64) * n_works + like_works)
    like_counts = np.bincount(like_keys % n_works, minlength=n_works)
    fan = np.repeat(np.arange(n_users, dtype=np.int64), FOLLOWS_PER_USER)
    idol = (rng.random(len(fan)) ** 2 * n_users).astype(np.int64)
    follow_keys = np.unique((fan * n_users + idol)[fan != idol])

    password_hash = PasswordHasher().hash("bench-password-1")
    origins = np.array(["human", "ai", "collab"])[rng.integers(0, 3, n_works)]
    async with pool.acquire() as conn:
        await conn.execute("SET session_replication_role = replica")  # generated data: skip FK triggers
        await _copy(conn, "users", ["id", "username", "email", "password_hash", "created_at"], (
            (uid, f"user{i}", f"user{i}@bench.example", password_hash, datetime.fromtimestamp(t, UTC))
            for i, (uid, t) in enumerate(zip(user_ids, user_ts, strict=True))))
        for start in range(0, n_works, CHUNK):
            rows = []
            for i in range(start, min(start + CHUNK, n_works)):
                words = rng.choice(len(WORDS), 8)
                created = float(work_ts[i])
                rows.append((work_ids[i], user_ids[authors[i]], " ".join(WORDS[w] for w in words[:3]).title(),
                             " ".join(WORDS[w] for w in words), [TAGS[t] for t in set(rng.integers(0, 50, 2))],
                             [f"asset{i}"], str(visibility[i]), str(origins[i]), bool(i % 3),
                             int(like_counts[i]), math.log10(like_counts[i] + 1) + created / 45000.0,
                             datetime.fromtimestamp(created, UTC), datetime.fromtimestamp(created, UTC)))
            await _copy(conn, "works", ["id", "author_id", "title", "description", "tags", "asset_ids",
                                        "visibility", "origin", "allow_training", "like_count", "score",
                                        "created_at", "published_at"], rows)
        for start in range(0, len(like_keys), CHUNK):
            part = like_keys[start:start + CHUNK]
            await _copy(conn, "likes", ["user_id", "work_id"],
                        [(user_ids[k // n_works], work_ids[k % n_works]) for k in part.tolist()])
        for start in range(0, len(follow_keys), CHUNK):
            part = follow_keys[start:start + CHUNK]
            await _copy(conn, "follows", ["follower_id", "followee_id"],
                        [(user_ids[k // n_users], user_ids[k % n_users]) for k in part.tolist()])
        for table in ("users", "works", "likes", "follows"):
            await conn.execute(f"VACUUM ANALYZE community.{table}")
    print(f"seeded {n_users} users, {n_works} works, {len(like_keys)} likes, {len(follow_keys)} follows",
          flush=True)
    sample_works = rng.choice(listed, min(2000, len(listed)), replace=False)
    return {"viewers": [user_ids[i] for i in rng.choice(n_users, min(500, n_users), replace=False)],
            "work_ids": [work_ids[i] for i in sample_works]}


async def drive(name: str, request: Any, targets: list[Any], concurrency: int = CONCURRENCY) -> dict[str, Any]:
    """`concurrency` workers call `request(target)` back to back for SECONDS; returns the figures."""
    samples: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + SECONDS

    async def worker(index: int) -> None:
        nonlocal errors
        rng = random.Random(index)
        while time.perf_counter() < stop_at:
            began = time.perf_counter()
            try:
                await request(rng.choice(targets))
            except Exception:
                errors += 1
                continue
            samples.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - began
    figures = {"samples_ms": [1000 * s for s in samples], "rps": len(samples) / elapsed, "errors": errors,
               "requests": len(samples)}
    print(f"{name:<34} p50 {show_percentile(figures['samples_ms'], 50):>10}  {figures['rps']:8.0f} req/s  "
          f"errors {errors}", flush=True)
    return figures


@contextmanager
def monolith(endpoints: Any) -> Iterator[tuple[str, int]]:
    """Start bench/monolith.py as its own process; yields (url, pid); stops it by pid."""
    env = {**os.environ, "ATELIER_DATABASE_URL": endpoints.database_url,
           "ATELIER_JWT_PUBLIC_KEY_FILE": str(endpoints.jwt_public_key_file),
           "ATELIER_JWT_PRIVATE_KEY_FILE": str(endpoints.jwt_private_key_file)}
    proc = subprocess.Popen([sys.executable, "-m", "bench.monolith"], env=env, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the monolith did not start (exit {proc.wait(10)})")
        yield json.loads(line)["url"], proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def run(stack: Any) -> int:
    endpoints = stack.endpoints
    results = current()
    pool = await asyncpg.create_pool(endpoints.database_url, min_size=1, max_size=4,
                                     server_settings={"search_path": "community,public"})
    began = time.perf_counter()
    sample = await seed(pool, SCALE)
    results.figure("community.seed_s", time.perf_counter() - began, "s")
    viewers, work_ids = sample["viewers"], sample["work_ids"]

    for name, user, work in (("feed", viewers[0], None), ("trending", viewers[0], None),
                             ("work", viewers[0], work_ids[0])):
        async with pool.acquire() as conn:
            plan = await explain(conn, name, user, work)
        print(f"\n--- EXPLAIN {name} ---\n{plan}", flush=True)
        if "Seq Scan on works" in plan:
            print(f"plan_{name}: sequential scan of works (NOT indexed)", flush=True)
    await pool.close()

    issuer = TokenIssuer(load_private_key(endpoints.jwt_private_key_file), ttl_s=3600)
    tokens = {u: {"Authorization": f"Bearer {issuer.issue(u, 'bench')}"} for u in viewers}
    pairs = [(w, viewers[i % len(viewers)]) for i, w in enumerate(work_ids)]
    n_rounds = rounds(3)
    print(f"\n{CONCURRENCY} concurrent clients, {SECONDS:g} s per step, {n_rounds} rounds", flush=True)
    cpu: dict[str, list[dict[str, float]]] = {}
    drives: dict[str, list[dict[str, Any]]] = {}
    with monolith(endpoints) as (mono_url, mono_pid):
        meter = CpuMeter({**stack.pids(), "monolith": mono_pid})
        nc = await connect(endpoints.nats_url, name="bench-community")
        connector = aiohttp.TCPConnector(limit=2 * CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as http:
            gateway = stack.service_urls["gateway"]

            async def get(url: str, headers: dict[str, str]) -> None:
                async with http.get(url, headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(resp.status)

            async def rpc(op: Operation[Any, Any], payload: dict[str, Any], actor: str) -> None:
                await call_raw(nc, op, payload, timeout=10, actor_id=actor)

            steps = {
                "gateway_feed": (lambda u: get(f"{gateway}/v1/feed", tokens[u]), viewers),
                "monolith_feed": (lambda u: get(f"{mono_url}/v1/feed", tokens[u]), viewers),
                "rpc_feed": (lambda u: rpc(community.FEEDS_FOLLOWING, {}, u), viewers),
                "gateway_work": (lambda p: get(f"{gateway}/v1/works/{p[0]}", tokens[p[1]]), pairs),
                "monolith_work": (lambda p: get(f"{mono_url}/v1/works/{p[0]}", tokens[p[1]]), pairs),
                "rpc_work": (lambda p: rpc(community.WORKS_GET, {"id": p[0]}, p[1]), pairs),
            }
            for request, targets in steps.values():  # warm every path (pools, caches, plans)
                await asyncio.wait_for(request(targets[0]), 10)
            # The baseline must do the same work: both answer the same reads with the same JSON.
            for path, headers in (("/v1/feed?limit=5", tokens[viewers[0]]),
                                  (f"/v1/works/{pairs[0][0]}", tokens[pairs[0][1]])):
                bodies = []
                for base in (gateway, mono_url):
                    async with http.get(base + path, headers=headers) as resp:
                        bodies.append((resp.status, await resp.json()))
                if bodies[0] != bodies[1]:
                    raise RuntimeError(f"the monolith answers {path} differently: {bodies}")

            def step(name: str) -> Any:
                request, targets = steps[name]

                async def go() -> dict[str, Any]:
                    before = meter.snapshot()
                    figures = await drive(name, request, targets)
                    cpu.setdefault(name, []).append(cpu_ms_per_unit(before, meter.snapshot(), figures["requests"]))
                    return figures
                return go

            drives = await alternate_async(n_rounds, {name: step(name) for name in steps})
            one_client = await drive("gateway_feed (1 client)", steps["gateway_feed"][0], viewers, concurrency=1)
        await nc.close()

    print()
    for name, runs in drives.items():
        results.figure(f"community.{name}.throughput", spread([r["rps"] for r in runs]), "req/s")
        show_cpu(f"community.{name}", median_roles(cpu[name]))
    gw_feed_ms = [ms for r in drives["gateway_feed"] for ms in r["samples_ms"]]
    print(f"community.gateway_feed latency at {CONCURRENCY}: p50 {show_percentile(gw_feed_ms, 50)}, "
          f"p99 {show_percentile(gw_feed_ms, 99)}; 1 client: p50 {show_percentile(one_client['samples_ms'], 50)}, "
          f"p99 {show_percentile(one_client['samples_ms'], 99)}", flush=True)
    for read in ("feed", "work"):
        rpc_ratio = spread(paired_ratios([r["rps"] for r in drives[f"gateway_{read}"]],
                                         [r["rps"] for r in drives[f"rpc_{read}"]]))
        results.figure(f"community.{read}.gateway_vs_direct_rpc_throughput", rpc_ratio)
    for goal, read in ((FEED_VS_MONOLITH, "feed"), (WORK_VS_MONOLITH, "work")):
        results.check_throughput(goal, [r["rps"] for r in drives[f"gateway_{read}"]],
                                 [r["rps"] for r in drives[f"monolith_{read}"]],
                                 system_cpu_ms=platform_cpu_ms(cpu[f"gateway_{read}"]),
                                 baseline_cpu_ms=platform_cpu_ms(cpu[f"monolith_{read}"]))
    results.check(FEED_P99, percentile(gw_feed_ms, 99), note=f"n={len(gw_feed_ms)}")
    errors = sum(r["errors"] for runs in drives.values() for r in runs)
    results.figure("community.errors", str(errors))
    return 0 if errors == 0 else 1


def main() -> int:
    print(f"scale {SCALE}: {int(100_000 * SCALE)} users, {int(1_000_000 * SCALE)} works, "
          f"{int(5_000_000 * SCALE)} likes", flush=True)
    # The gateway's per-IP and per-user rate limits would throttle the load generator itself.
    os.environ["ATELIER_RATE_LIMIT_ENABLED"] = "false"
    with started_stack(services=["community", "gateway"]) as stack:
        return asyncio.run(run(stack))


if __name__ == "__main__":
    raise SystemExit(main())
