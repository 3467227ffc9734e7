"""Image generation throughput: raw ONNX Runtime vs Triton vs the whole platform, same run.

    python -m bench.bench_inference [SECONDS_PER_STEP]

Model: the trainer's 64 px DCGAN generator (services/trainer/models.py), randomly initialised and
exported to ONNX the way the trainer exports it (input z [N,128], output image [N,3,64,64]).
1. raw: ONNX Runtime in this process, batches of 32: forward only, and forward + PNG encode + C2PA
   sign (the per-image work of the service, serial) — the baselines.
2. Triton alone: N concurrent clients each sending batch-1 requests over gRPC (N = 1, 8, 32);
   dynamic batching merges them. Target at 32: >= 0.9 of raw forward-only.
3. End to end: N concurrent users (8, 32) each POST /v1/generations (count 1) through the gateway
   and wait for the `inference.generation.completed` event: queue, Triton, encode, sign, store.
Everything shares this machine's cores, so the ratios, not the absolute figures, are the result.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import onnxruntime as ort
import torch
from minio import Minio

from bench.common import embedded_stack, report, summarize_ms, verdict
from services.inference import devca, latents, png_codec, provenance
from services.inference.backends.triton import TritonBackend
from services.inference.settings import InferenceSettings
from services.trainer.models import build, generator_for_export
from shared.ids import new_id
from shared.messaging.connection import connect
from tests.support.style_models import announce_trained, export_onnx, upload_model

IMAGE_SIZE = 64
THREADS = os.cpu_count() or 2
SERVICES = ["community", "assets", "inference", "gateway"]


def dcgan_onnx() -> bytes:
    torch.manual_seed(0)
    return export_onnx(generator_for_export(build("dcgan", IMAGE_SIZE)))


def raw_baseline(onnx: bytes, seconds: float) -> tuple[float, float]:
    """(forward-only images/s, forward + encode + sign images/s) with ONNX Runtime batches of 32."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    session = ort.InferenceSession(onnx, options, providers=["CPUExecutionProvider"])
    z = np.stack([latents.latent_for_seed(s) for s in range(32)])
    session.run(["image"], {"z": z})  # warm-up
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        session.run(["image"], {"z": z})
        done += len(z)
    forward = done / (time.perf_counter() - start)

    ca = devca.ensure_dev_ca(Path(tempfile.mkdtemp(prefix="bench-ca-")))
    signer = provenance.Signer(ca.chain_pem, ca.key_pem)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        images = session.run(["image"], {"z": z})[0]
        for i, png in enumerate(png_codec.images_to_png(images)):
            signer.sign(png, provenance.GenerationInfo(model_id="m", version=1, seed=i, mode="sample", index=i))
        done += len(z)
    return forward, done / (time.perf_counter() - start)


async def triton_alone(endpoints: Any, onnx: bytes, seconds: float) -> dict[int, float]:
    backend = TritonBackend(endpoints.triton_grpc_url, endpoints.triton_admin_token,
                            http_url=endpoints.triton_http_url, intra_op_threads=THREADS,
                            max_queue_delay_us=InferenceSettings.model_fields["triton_max_queue_delay_us"].default)
    model_id = new_id()
    results: dict[int, float] = {}
    try:
        await backend.load(model_id, 1, {"model.onnx": onnx})
        z = np.stack([latents.latent_for_seed(s) for s in range(32)])
        for clients in (1, 8, 32):
            await backend.infer(model_id, 1, z[:1])
            counts = [0] * clients
            deadline = time.perf_counter() + seconds

            async def client(k: int, counts: list[int] = counts, deadline: float = deadline) -> None:
                while time.perf_counter() < deadline:
                    await backend.infer(model_id, 1, z[k : k + 1])
                    counts[k] += 1

            start = time.perf_counter()
            await asyncio.gather(*(client(k) for k in range(clients)))
            results[clients] = sum(counts) / (time.perf_counter() - start)
        await backend.unload(model_id)
    finally:
        await backend.close()
    return results


async def end_to_end(endpoints: Any, gateway_url: str, onnx: bytes,
                     seconds: float) -> dict[int, tuple[float, list[float]]]:
    nc = await connect(endpoints.nats_url, name="bench-inference")
    js = nc.jetstream(timeout=5.0)
    completed: dict[str, asyncio.Future[None]] = {}

    async def on_completed(msg: Any) -> None:
        import json

        generation_id = json.loads(msg.data)["data"]["generation_id"]
        if generation_id in completed and not completed[generation_id].done():
            completed[generation_id].set_result(None)

    sub = await nc.subscribe("inference.generation.completed", cb=on_completed)
    out: dict[int, tuple[float, list[float]]] = {}
    async with aiohttp.ClientSession(base_url=gateway_url, timeout=aiohttp.ClientTimeout(total=60)) as http:
        name = "bench_" + secrets.token_hex(4)
        async with http.post("/v1/auth/signup", json={"username": name, "email": f"{name}@example.com",
                                                      "password": "bench password 1"}) as resp:
            session = await resp.json()
        headers = {"Authorization": f"Bearer {session['token']}"}
        model_id = new_id()
        client = Minio(endpoints.s3_endpoint, access_key=endpoints.s3_access_key,
                       secret_key=endpoints.s3_secret_key, secure=False)
        await asyncio.to_thread(upload_model, client, endpoints.s3_bucket, model_id, 1, onnx)
        await announce_trained(js, model_id, session["user"]["id"], 1, image_size=IMAGE_SIZE)

        async def one() -> float:
            began = time.perf_counter()
            while True:
                async with http.post("/v1/generations", json={"model_id": model_id, "count": 1},
                                     headers=headers) as resp:
                    if resp.status == 202:
                        generation_id = (await resp.json())["id"]
                        break
                    assert resp.status == 409, await resp.text()  # still loading
                await asyncio.sleep(0.2)
            future = completed.setdefault(generation_id, asyncio.get_running_loop().create_future())
            await asyncio.wait_for(future, 60)
            return time.perf_counter() - began

        await one()  # the model is loaded and warm
        for clients in (8, 32):
            latencies: list[float] = []
            deadline = time.perf_counter() + seconds

            async def user(latencies: list[float] = latencies, deadline: float = deadline) -> None:
                while time.perf_counter() < deadline:
                    latencies.append(await one())

            start = time.perf_counter()
            await asyncio.gather(*(user() for _ in range(clients)))
            out[clients] = (len(latencies) / (time.perf_counter() - start), latencies)
    await sub.unsubscribe()
    await nc.drain()
    return out


async def main(seconds: float) -> None:
    onnx = dcgan_onnx()
    forward, pipeline = raw_baseline(onnx, seconds)
    report("raw onnxruntime forward (batch 32)", forward, "images/s")
    report("raw forward + png + c2pa sign (batch 32, one process)", pipeline, "images/s")
    os.environ.setdefault("ATELIER_TRITON_INTRA_OP_THREADS", str(THREADS))
    with embedded_stack(with_triton=True, services=SERVICES) as (endpoints, urls):
        for clients, rate in (await triton_alone(endpoints, onnx, seconds)).items():
            report(f"triton, {clients} concurrent batch-1 clients", rate, "images/s")
            report(f"triton/raw forward at {clients}", rate / forward)
            report(f"triton/raw baseline (forward + png + sign) at {clients}", rate / pipeline)
            if clients == 32:
                # The baseline is the whole one-process pipeline; the forward-only ratio is
                # the stricter view (here the 32 gRPC clients share the 2 cores with the model).
                verdict("triton at 32 concurrent vs raw baseline", rate / pipeline, at_least=0.9)
                report("triton at 32 concurrent vs raw forward only", rate / forward)
        for clients, (rate, latencies) in (await end_to_end(endpoints, urls["gateway"], onnx, seconds * 2)).items():
            summary = summarize_ms(latencies)
            report(f"end to end, {clients} concurrent users (POST -> completed)", rate, "images/s")
            report(f"end to end latency at {clients} p50 / p99", f"{summary['p50_ms']:.0f} / "
                   f"{summary['p99_ms']:.0f} ms")
            report(f"end to end/raw pipeline at {clients}", rate / pipeline)


if __name__ == "__main__":
    np.seterr(all="ignore")
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 4.0))
