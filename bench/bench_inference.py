"""Image generation throughput: raw ONNX Runtime vs Triton vs the whole platform, alternated.

    python -m bench.bench_inference [SECONDS_PER_STEP]      (ATELIER_BENCH_ROUNDS, default 3)

Model: the trainer's 64 px DCGAN generator (services/trainer/models.py), randomly initialised and
exported to ONNX the way the trainer exports it (input z [N,128], output image [N,3,64,64]).
Each round runs, in turn (reversed every other round, so each sees the same machine):
- forward: ONNX Runtime in this process, batches of 32, forward only — the baseline of Triton;
- pipeline: forward + PNG encode + C2PA sign, one process — the baseline of the platform;
- triton: 32 concurrent clients each sending batch-1 gRPC requests (dynamic batching merges them);
- e2e 32x1: 32 users each POST /v1/generations (count 1) through the gateway and wait for
  `inference.generation.completed` (queue, Triton, encode, sign, store);
- e2e 8x16: 8 users, count 16.
Goals (issue 12): Triton >= 0.9 of forward alone; both end-to-end figures >= 0.6 of the pipeline,
each judged on the lower of the paired throughput ratio (median over rounds) and the CPU cost
ratio (one process's CPU per image / the platform's, from /proc, the load generator apart).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import onnxruntime as ort
import torch
from minio import Minio

from bench.common import started_stack
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
from services.inference import devca, latents, png_codec, provenance
from services.inference.backends.triton import TritonBackend
from services.inference.settings import InferenceSettings
from services.trainer.models import build, generator_for_export
from shared.ids import new_id
from shared.messaging.connection import connect
from tests.support.style_models import announce_trained, export_onnx, upload_model

IMAGE_SIZE = 64
THREADS = os.cpu_count() or 2
# ONNX Runtime threads per Triton model instance (the service's default, 1); compare others with
# ATELIER_TRITON_INTRA_OP_THREADS=2. The one-process baselines use every core.
TRITON_THREADS = int(os.environ.get("ATELIER_TRITON_INTRA_OP_THREADS", "1"))
SERVICES = ["community", "assets", "inference", "gateway"]
FORWARD = "ONNX Runtime forward alone, batch 32, one process (images/s)"
PIPELINE = "one process: ORT forward + PNG encode + C2PA sign (images/s)"
TRITON = Goal("inference.triton_32_vs_forward", "Triton, 32 concurrent batch-1 clients (images/s)",
              FORWARD, ">=", 0.9)
E2E_32x1 = Goal("inference.e2e_32x1_vs_pipeline", "POST -> completed event, 32 users, count 1 (images/s)",
                PIPELINE, ">=", 0.6)
E2E_8x16 = Goal("inference.e2e_8x16_vs_pipeline", "POST -> completed event, 8 users, count 16 (images/s)",
                PIPELINE, ">=", 0.6)


def dcgan_onnx() -> bytes:
    torch.manual_seed(0)
    return export_onnx(generator_for_export(build("dcgan", IMAGE_SIZE)))


class OneProcess:
    """The baselines: ONNX Runtime in this process (forward, and forward + encode + sign)."""

    def __init__(self, onnx: bytes) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = THREADS
        self.session = ort.InferenceSession(onnx, options, providers=["CPUExecutionProvider"])
        self.z = np.stack([latents.latent_for_seed(s) for s in range(32)])
        ca = devca.ensure_dev_ca(Path(tempfile.mkdtemp(prefix="bench-ca-")))
        self.signer = provenance.Signer(ca.chain_pem, ca.key_pem)
        self.session.run(["image"], {"z": self.z})  # warm-up
        self.cpu_ms_per_image: dict[str, list[float]] = {"forward": [], "pipeline": []}

    def _timed(self, kind: str, seconds: float, step: Callable[[], int]) -> float:
        done, cpu, start = 0, time.process_time(), time.perf_counter()
        while time.perf_counter() - start < seconds:
            done += step()
        elapsed = time.perf_counter() - start
        self.cpu_ms_per_image[kind].append(1000 * (time.process_time() - cpu) / done)
        return done / elapsed

    def forward(self, seconds: float) -> float:
        return self._timed("forward", seconds, lambda: len(self.session.run(["image"], {"z": self.z})[0]))

    def pipeline(self, seconds: float) -> float:
        def step() -> int:
            images = self.session.run(["image"], {"z": self.z})[0]
            for i, png in enumerate(png_codec.images_to_png(images)):
                self.signer.sign(png, provenance.GenerationInfo(model_id="m", version=1, seed=i, mode="sample",
                                                                index=i))
            return len(images)

        return self._timed("pipeline", seconds, step)


async def triton_rate(backend: TritonBackend, model_id: str, z: np.ndarray, clients: int, seconds: float) -> float:
    counts = [0] * clients
    deadline = time.perf_counter() + seconds

    async def client(k: int) -> None:
        while time.perf_counter() < deadline:
            await backend.infer(model_id, 1, z[k % len(z): k % len(z) + 1])
            counts[k] += 1

    start = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return sum(counts) / (time.perf_counter() - start)


class Platform:
    """Users generating through the gateway; a generation is done when its completed event arrives."""

    def __init__(self, stack: Any, http: aiohttp.ClientSession, nc: Any, model_id: str, headers: dict[str, str]):
        self.stack, self.http, self.nc, self.model_id, self.headers = stack, http, nc, model_id, headers
        self.waiting: dict[str, asyncio.Future[None]] = {}
        self.latencies: dict[str, list[float]] = {}
        self.retries: dict[int, int] = {}

    async def start(self) -> None:
        async def on_event(msg: Any) -> None:
            data = json.loads(msg.data)["data"]
            future = self.waiting.get(data["generation_id"])
            if future is not None and not future.done():
                if msg.subject.endswith("completed"):
                    future.set_result(None)
                else:
                    future.set_exception(RuntimeError(f"generation failed: {data}"))

        await self.nc.subscribe("inference.generation.completed", cb=on_event)
        await self.nc.subscribe("inference.generation.failed", cb=on_event)

    async def one(self, count: int) -> float:
        began = time.perf_counter()
        future = asyncio.get_running_loop().create_future()
        while True:
            async with self.http.post("/v1/generations", json={"model_id": self.model_id, "count": count},
                                      headers=self.headers) as resp:
                if resp.status == 202:
                    generation_id = (await resp.json())["id"]
                    break
                # 409: the model is still loading; 429: the per-user queue is full. Both: try again.
                assert resp.status in (409, 429), await resp.text()
                self.retries[resp.status] = self.retries.get(resp.status, 0) + 1
            await asyncio.sleep(0.05)
        self.waiting[generation_id] = future
        try:
            await asyncio.wait_for(future, 120)
        finally:
            self.waiting.pop(generation_id, None)
        return time.perf_counter() - began

    async def rate(self, label: str, users: int, count: int, seconds: float) -> float:
        latencies = self.latencies.setdefault(label, [])
        generations = 0
        deadline = time.perf_counter() + seconds

        async def user() -> None:
            nonlocal generations
            while time.perf_counter() < deadline:
                latencies.append(await self.one(count))
                generations += 1

        start = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(users)))
        return generations * count / (time.perf_counter() - start)


async def run(stack: Any, onnx: bytes, seconds: float, n_rounds: int) -> None:
    results = current()
    ep = stack.endpoints
    local = OneProcess(onnx)
    backend = TritonBackend(ep.triton_grpc_url, ep.triton_admin_token, http_url=ep.triton_http_url,
                            intra_op_threads=TRITON_THREADS,
                            max_queue_delay_us=InferenceSettings.model_fields["triton_max_queue_delay_us"].default)
    triton_model = new_id()
    await backend.load(triton_model, 1, {"model.onnx": onnx})
    nc = await connect(ep.nats_url, name="bench-inference")
    js = nc.jetstream(timeout=5.0)
    meter = CpuMeter(stack.pids())
    cpu: dict[str, list[dict[str, float]]] = {}
    timeout = aiohttp.ClientTimeout(total=120)
    try:
        async with aiohttp.ClientSession(base_url=stack.service_urls["gateway"], timeout=timeout) as http:
            name = "bench_" + secrets.token_hex(4)
            async with http.post("/v1/auth/signup", json={"username": name, "email": f"{name}@example.com",
                                                          "password": "bench password 1"}) as resp:
                session = await resp.json()
            model_id = new_id()
            client = Minio(ep.s3_endpoint, access_key=ep.s3_access_key, secret_key=ep.s3_secret_key, secure=False)
            await asyncio.to_thread(upload_model, client, ep.s3_bucket, model_id, 1, onnx)
            await announce_trained(js, model_id, session["user"]["id"], 1, image_size=IMAGE_SIZE)
            platform = Platform(stack, http, nc, model_id, {"Authorization": f"Bearer {session['token']}"})
            await platform.start()
            await platform.one(1)  # the model is loaded and warm
            platform.retries.clear()  # the 409s while it loaded are not part of the measurement

            for clients in (1, 8):  # how well dynamic batching fills up (reported, no goal)
                rate = await triton_rate(backend, triton_model, local.z, clients, seconds)
                results.figure(f"inference.triton_{clients}_clients", rate, "images/s")

            def metered(label: str, units_per_s: Callable[[], Awaitable[float]]) -> Any:
                async def go() -> float:
                    before, began = meter.snapshot(), time.perf_counter()
                    rate = await units_per_s()
                    images = rate * (time.perf_counter() - began)
                    cpu.setdefault(label, []).append(cpu_ms_per_unit(before, meter.snapshot(), images))
                    return rate
                return go

            variants = {
                "forward": lambda: asyncio.to_thread(local.forward, seconds),
                "triton_32": metered("triton_32", lambda: triton_rate(backend, triton_model, local.z, 32, seconds)),
                "pipeline": lambda: asyncio.to_thread(local.pipeline, seconds),
                "e2e_32x1": metered("e2e_32x1", lambda: platform.rate("e2e_32x1", 32, 1, 2 * seconds)),
                "e2e_8x16": metered("e2e_8x16", lambda: platform.rate("e2e_8x16", 8, 16, 2 * seconds)),
            }
            rates = await alternate_async(n_rounds, variants)
    finally:
        await backend.unload(triton_model)
        await backend.close()
        await nc.drain()

    for label, values in rates.items():
        results.figure(f"inference.{label}", spread(values), "images/s")
    for kind, values in local.cpu_ms_per_image.items():
        results.figure(f"inference.{kind}.one_process_cpu_ms_per_image", spread(values), "ms")
    for label, snapshots in cpu.items():
        show_cpu(f"inference.{label}", median_roles(snapshots), unit="image")
    for label, latencies in platform.latencies.items():
        ms = [1000 * s for s in latencies]
        print(f"inference.{label} latency (POST -> completed): p50 {show_percentile(ms, 50)}, "
              f"p99 {show_percentile(ms, 99)}", flush=True)
    results.figure("inference.posts_retried_by_status (409 loading, 429 queue full)", str(platform.retries))
    for goal, system, baseline in ((TRITON, "triton_32", "forward"), (E2E_32x1, "e2e_32x1", "pipeline"),
                                   (E2E_8x16, "e2e_8x16", "pipeline")):
        results.check_throughput(goal, rates[system], rates[baseline], system_cpu_ms=platform_cpu_ms(cpu[system]),
                                 baseline_cpu_ms=float(np.median(local.cpu_ms_per_image[baseline])))


def main() -> None:
    np.seterr(all="ignore")
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0
    os.environ.setdefault("ATELIER_TRITON_INTRA_OP_THREADS", str(TRITON_THREADS))
    os.environ.setdefault("ATELIER_RATE_LIMIT_ENABLED", "false")  # the load generator is one user
    os.environ.setdefault("ATELIER_LOG_LEVEL", "warning")
    onnx = dcgan_onnx()
    n_rounds = rounds(3)
    print(f"{n_rounds} rounds, {seconds:g} s per step ({2 * seconds:g} s end to end), {THREADS} threads "
          f"one-process, {TRITON_THREADS} per Triton instance", flush=True)
    with started_stack(with_triton=True, services=SERVICES) as stack:
        asyncio.run(run(stack, onnx, seconds, n_rounds))


if __name__ == "__main__":
    main()
