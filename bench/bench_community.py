"""Community read paths at scale: feed, trending and a single work, through the gateway and as
direct RPC in the same run (the RPC figures are the baseline the gateway is compared against).

Seeds 100k users, 1M works, 5M likes and 20 follows per user with COPY (scale with
ATELIER_BENCH_SCALE, e.g. 0.05), then drives each read from 32 concurrent clients and prints
p50/p99/requests per second, plus the query plans (EXPLAIN ANALYZE) of the three queries.
Target: feed p99 < 15 ms through the gateway.

    python -m bench.bench_community
    ATELIER_BENCH_SCALE=0.05 ATELIER_BENCH_SECONDS=5 python -m bench.bench_community
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
import numpy as np
from argon2 import PasswordHasher
from ulid import ULID

from bench.common import cpu_seconds_by_role, embedded_stack, report, summarize_ms, verdict
from services.community.store.feeds import explain
from services.community.tokens import TokenIssuer, load_private_key
from shared.messaging.connection import connect
from shared.messaging.rpc import rpc_call

SCALE = float(os.environ.get("ATELIER_BENCH_SCALE", "1"))
SECONDS = float(os.environ.get("ATELIER_BENCH_SECONDS", "10"))
CONCURRENCY = int(os.environ.get("ATELIER_BENCH_CONCURRENCY", "32"))
FEED_P99_TARGET_MS = 15.0
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


async def drive(name: str, request: Any, targets: list[Any], concurrency: int = CONCURRENCY) -> dict[str, float]:
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
    figures = {**summarize_ms(samples), "rps": len(samples) / elapsed, "errors": float(errors)}
    print(f"{name:<28} p50 {figures['p50_ms']:7.2f} ms  p99 {figures['p99_ms']:7.2f} ms  "
          f"{figures['rps']:8.0f} req/s  errors {errors}", flush=True)
    return figures


def cpu_cost_per_request(before: dict[str, float], after: dict[str, float],
                         figures: dict[str, float]) -> dict[str, float]:
    """CPU milliseconds each role spent per request during one drive()."""
    requests = max(1.0, figures["rps"] * SECONDS)
    return {role: 1000 * (after[role] - before.get(role, 0.0)) / requests for role in after}


async def run(endpoints: Any, gateway_url: str) -> int:
    pool = await asyncpg.create_pool(endpoints.database_url, min_size=1, max_size=4,
                                     server_settings={"search_path": "community,public"})
    began = time.perf_counter()
    sample = await seed(pool, SCALE)
    report("seed_s", time.perf_counter() - began, "s")
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
    results: dict[str, dict[str, float]] = {}
    print(f"\n{CONCURRENCY} concurrent clients, {SECONDS:.0f} s each", flush=True)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(base_url=gateway_url, connector=connector) as http:
        async def get(path: str, headers: dict[str, str]) -> None:
            async with http.get(path, headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(resp.status)

        # One client first: the latency of a request that does not queue behind 31 others.
        results["gw_feed_1"] = await drive("gateway GET /v1/feed (1 client)", lambda u: get("/v1/feed", tokens[u]),
                                           viewers, concurrency=1)
        cpu_before = cpu_seconds_by_role()
        results["gw_feed"] = await drive("gateway GET /v1/feed", lambda u: get("/v1/feed", tokens[u]), viewers)
        feed_cpu = cpu_cost_per_request(cpu_before, cpu_seconds_by_role(), results["gw_feed"])
        results["gw_trending"] = await drive("gateway GET /v1/feed/trending",
                                             lambda u: get("/v1/feed/trending", tokens[u]), viewers)
        pairs = [(w, viewers[i % len(viewers)]) for i, w in enumerate(work_ids)]
        results["gw_work"] = await drive("gateway GET /v1/works/{id}",
                                         lambda p: get(f"/v1/works/{p[0]}", tokens[p[1]]), pairs)

    nc = await connect(endpoints.nats_url, name="bench-community")
    try:
        async def rpc(op: str, payload: dict[str, Any], actor: str) -> None:
            await rpc_call(nc, "community", op, payload, timeout=10, actor_id=actor)

        results["rpc_feed"] = await drive("rpc feeds.following", lambda u: rpc("feeds.following", {}, u), viewers)
        results["rpc_trending"] = await drive("rpc feeds.trending", lambda u: rpc("feeds.trending", {}, u), viewers)
        results["rpc_work"] = await drive("rpc works.get", lambda p: rpc("works.get", {"id": p[0]}, p[1]), pairs)
    finally:
        await nc.close()

    print()
    for read in ("feed", "trending", "work"):
        gw, direct = results[f"gw_{read}"], results[f"rpc_{read}"]
        report(f"{read}_gateway_vs_rpc_throughput", gw["rps"] / direct["rps"])
    verdict("feed_p99_ms_through_gateway", results["gw_feed"]["p99_ms"], at_most=FEED_P99_TARGET_MS)
    report("feed_p99_ms_through_gateway_1_client", results["gw_feed_1"]["p99_ms"], "ms")
    # Little's law: with N requests always in flight, mean latency = N / throughput.
    report("feed_mean_latency_bound_ms (32 / req_per_s)", 1000 * CONCURRENCY / results["gw_feed"]["rps"], "ms")
    # Why: every feed read costs CPU in every process on its path, and they all share this machine's
    # cores; the throughput the cores allow bounds the mean latency of 32 clients from below.
    total_ms = sum(feed_cpu.values())
    for role, ms in sorted(feed_cpu.items(), key=lambda item: -item[1]):
        report(f"feed_cpu_ms_per_request[{role}]", ms, "ms")
    cores = os.cpu_count() or 1
    report("feed_cpu_ms_per_request[total]", total_ms, "ms")
    report(f"feed_req_per_s_ceiling ({cores} cores / total cpu)", 1000 * cores / total_ms, "req/s")
    report("feed_mean_latency_floor_ms (32 x total cpu / cores)", CONCURRENCY * total_ms / cores, "ms")
    return 0 if all(r["errors"] == 0 for r in results.values()) else 1


def main() -> int:
    print(f"scale {SCALE}: {int(100_000 * SCALE)} users, {int(1_000_000 * SCALE)} works, "
          f"{int(5_000_000 * SCALE)} likes", flush=True)
    # The gateway's per-IP and per-user rate limits would throttle the load generator itself.
    os.environ["ATELIER_RATE_LIMIT_ENABLED"] = "false"
    with embedded_stack(services=["community", "gateway"]) as (endpoints, urls):
        return asyncio.run(run(endpoints, urls["gateway"]))


if __name__ == "__main__":
    raise SystemExit(main())
