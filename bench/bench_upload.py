"""A 64 MiB upload through the gateway vs a direct S3 PUT of the same bytes to the same store.

Starts its own stack (NATS, PostgreSQL, S3 store) with assets and the gateway, the upload limit
raised for the run. Each round uploads a fresh ~64 MiB PNG (noise, stored uncompressed, ~22 MP)
through `POST /v1/assets` and PUTs the same bytes straight to the store with a presigned URL,
alternating (the order reversed every other round) so both see the same machine. Goals:
- what the user waits for: direct PUT time / the whole POST until its 201 (relay + validation,
  hashing, thumbnail, row), paired per round, median >= 0.6 (issue 18);
- the gateway's RSS growth during an upload (VmRSS from /proc, sampled every 5 ms) < 32 MiB.
Beside them, the relay ratio (direct PUT / the gateway's Server-Timing `relay`: client → gateway →
store, the streaming part only) and the CPU each process spent per upload.

    python -m bench.bench_upload [ROUNDS]      (default 5)
"""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import jwt
import numpy as np
from PIL import Image

from bench.harness import CpuMeter, Goal, alternate_async, cpu_ms_per_unit, current, paired_ratios, show_cpu, spread
from shared.ids import new_id

MiB = 1024 * 1024
TARGET_BYTES = 64 * MiB
USER_WAIT = Goal("upload.user_wait_vs_direct_put", "direct PUT time / POST /v1/assets until 201, 64 MiB",
                 "", ">=", 0.6)
RSS = Goal("upload.gateway_rss_growth", "gateway RSS growth during one 64 MiB upload (max)", "", "<=", 32.0, "MiB")


def big_png(seed: int) -> bytes:
    """Noise stored without compression: ~64 MiB on disk, ~22 MP (inside the pixel limit)."""
    side = int((TARGET_BYTES / 3) ** 0.5)
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, "PNG", compress_level=0)
    return buf.getvalue()


def token(private_key_file: Path, user_id: str) -> str:
    now = datetime.now(UTC)
    return jwt.encode({"sub": user_id, "iss": "atelier", "iat": now, "exp": now + timedelta(hours=1)},
                      private_key_file.read_text(), algorithm="EdDSA")


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class RssSampler:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            time.sleep(0.005)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def through_gateway(http: aiohttp.ClientSession, url: str, auth: str, data: bytes) -> tuple[float, float]:
    started = time.perf_counter()
    async with http.post(url, data=data, headers={"Authorization": auth, "Content-Type": "image/png"}) as resp:
        body = await resp.text()
        if resp.status != 201:
            raise RuntimeError(f"upload failed: {resp.status} {body[:300]}")
        relay_ms = float(re.search(r"relay;dur=([\d.]+)", resp.headers["Server-Timing"]).group(1))  # type: ignore[union-attr]
    return time.perf_counter() - started, relay_ms / 1000


async def direct_put(http: aiohttp.ClientSession, minio: object, bucket: str, data: bytes) -> float:
    url = minio.presigned_put_object(bucket, f"bench/{new_id()}", expires=timedelta(minutes=10))  # type: ignore[attr-defined]
    started = time.perf_counter()
    async with http.put(url, data=data) as resp:
        await resp.read()
        if resp.status != 200:
            raise RuntimeError(f"direct PUT failed: {resp.status}")
    return time.perf_counter() - started


async def run(stack: object, rounds: int) -> None:
    from deploy.local.s3 import minio_client

    results = current()
    ep = stack.endpoints  # type: ignore[attr-defined]
    gateway = stack.service_urls["gateway"]  # type: ignore[attr-defined]
    pid = stack.pids()["gateway"]  # type: ignore[attr-defined]
    meter = CpuMeter(stack.pids())  # type: ignore[attr-defined]
    minio = minio_client(ep.s3_endpoint, ep.s3_access_key, ep.s3_secret_key)
    timeout = aiohttp.ClientTimeout(total=600)
    gw_relay: list[float] = []
    growth: list[int] = []
    cpu: list[dict[str, float]] = []
    async with aiohttp.ClientSession(timeout=timeout) as http:
        warm = io.BytesIO()
        Image.new("RGB", (64, 64), (10, 20, 30)).save(warm, "PNG")
        await through_gateway(http, f"{gateway}/v1/assets", f"Bearer {token(ep.jwt_private_key_file, new_id())}",
                              warm.getvalue())  # warm the gateway's client session and code paths
        data, seeds = b"", itertools.count()

        async def fresh() -> None:  # fresh noise of the same size each time: nothing is deduplicated
            nonlocal data
            data = await asyncio.to_thread(big_png, next(seeds))

        async def direct() -> float:
            await fresh()
            return await direct_put(http, minio, ep.s3_bucket, data)

        async def via_gateway() -> float:
            await fresh()
            auth = f"Bearer {token(ep.jwt_private_key_file, new_id())}"
            baseline, before = rss_bytes(pid), meter.snapshot()
            with RssSampler(pid) as sampler:
                total, relay = await through_gateway(http, f"{gateway}/v1/assets", auth, data)
            cpu.append(cpu_ms_per_unit(before, meter.snapshot(), 1))
            gw_relay.append(relay)
            growth.append(max(0, sampler.peak - baseline))
            return total

        times = await alternate_async(rounds, {"direct_put": direct, "gateway_post": via_gateway})
    size_mib = len(data) / MiB
    results.figure("upload.size", size_mib, "MiB")
    results.figure("upload.direct_put", spread(times["direct_put"]), "s")
    results.figure("upload.gateway_post_until_201", spread(times["gateway_post"]), "s")
    results.figure("upload.gateway_relay (Server-Timing)", spread(gw_relay), "s")
    results.figure("upload.direct_put.throughput", size_mib / statistics.median(times["direct_put"]), "MiB/s")
    results.figure("upload.gateway_post.throughput", size_mib / statistics.median(times["gateway_post"]), "MiB/s")
    relay = spread(paired_ratios(times["direct_put"], gw_relay))
    results.figure("upload.relay_ratio (direct PUT / gateway relay only)", relay)
    roles = {role: statistics.median(c.get(role, 0.0) for c in cpu) for role in cpu[0]}
    show_cpu("upload.gateway_post", roles, unit="upload")
    wait = spread(paired_ratios(times["direct_put"], times["gateway_post"]))
    results.check(USER_WAIT, wait.median, spread_of=wait,
                  note=f"relay alone {relay.median:.2f}; the rest is the service's work after the bytes arrived")
    results.check(RSS, max(growth) / MiB, spread_of=spread([g / MiB for g in growth]))


def main() -> None:
    from deploy.local.stack import EmbeddedStack

    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("ATELIER_BENCH_ROUNDS", "5"))
    os.environ["ATELIER_UPLOAD_MAX_BYTES"] = str(128 * MiB)  # services inherit the launcher's env
    os.environ.setdefault("ATELIER_LOG_LEVEL", "warning")
    with tempfile.TemporaryDirectory(prefix="atelier-bench-upload-") as tmp:
        stack = EmbeddedStack(Path(tmp), with_triton=False)
        try:
            stack.start()
            stack.start_services(["assets", "gateway"], gateway_port=0)
            asyncio.run(run(stack, rounds))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
