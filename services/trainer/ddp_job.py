"""`torchrun -m services.trainer.ddp --model-id ID`: a style model's queued job trained by a
multi-process, multi-node DDP run (Kubernetes PyTorchJob) instead of the queue worker.

Rank 0 claims the job in the trainer's database (runner `ddp`: the queue worker then skips its
message), gathers the dataset exactly as the worker does (consent checked again, images through
the assets service) and broadcasts the configuration and image bytes to every rank. All ranks
train (ddp_run.run); rank 0 exports the generator to ONNX (verified against torch), stores a sample
grid and publishes the version through the same path as the worker (`trainer.model.trained` via
the outbox, relayed by the trainer service). A failure marks the job failed.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import aiohttp
import asyncpg
import torch
import torch.distributed as dist

from services.trainer import store
from services.trainer.dataset_fetch import gather_images
from services.trainer.ddp_run import run
from services.trainer.events import failed_event
from services.trainer.settings import TrainerSettings
from services.trainer.store import JobRow
from services.trainer.training import TrainConfig
from services.trainer.versions import publish_version, store_sample
from shared.db import create_pool
from shared.logging import configure_logging, get_logger
from shared.messaging.connection import connect_as
from shared.objectstore import ObjectStore
from shared.outbox import enqueue

log = get_logger(__name__)
SCHEMA = "trainer"


async def claim(settings: TrainerSettings, model_id: str) -> dict[str, Any]:
    """Take the model's queued job; returns its training configuration and image bytes."""
    pool = await create_pool(settings, schema=SCHEMA)
    nc = await connect_as(settings, name="atelier-trainer-ddp")
    try:
        latest = await store.latest_job(pool, model_id)
        if latest is not None and latest.kind == "refine":
            raise RuntimeError("refine jobs run on the queue worker, not DDP")  # left queued for it
        job = await store.start_attempt(pool, latest.id, runner="ddp") if latest is not None else None
        if job is None:
            raise RuntimeError(f"model {model_id} has no queued job to train")
        model = await store.get_model(pool, model_id)
        assert model is not None
        async with aiohttp.ClientSession() as http:
            try:
                images, _ = await gather_images(nc, pool, http, settings, model, job)
            except Exception as exc:
                await _fail(pool, job, f"dataset: {exc}")
                raise
        config = {"architecture": model.architecture, "image_size": model.image_size, "width": model.width,
                  "steps": job.steps, "batch_size": job.batch_size, "augment": job.augment,
                  "seed": job.seed, "device": "auto"}
        log.info("trainer.ddp.claimed", model_id=model_id, job_id=job.id, images=len(images))
        return {"job_id": job.id, "config": config, "images": images}
    finally:
        await nc.drain()
        await pool.close()


async def _fail(pool: asyncpg.Pool, job: JobRow, error: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        if await store.finish(conn, job.id, "failed", error=error[:1000]):
            await enqueue(conn, SCHEMA, failed_event(job, error[:1000]))


async def fail(settings: TrainerSettings, job_id: str, error: str) -> None:
    pool = await create_pool(settings, schema=SCHEMA)
    try:
        job = await store.get_job(pool, job_id)
        if job is not None:
            await _fail(pool, job, error)
    finally:
        await pool.close()


def export_result(out_dir: Path, model_id: str, image_size: int,
                  backend: Literal["onnxruntime", "python"]) -> dict[str, Any]:
    """What ddp_run.run left in `out_dir`, as the worker's result: ONNX checked against torch, config,
    checkpoint, metrics and a sample grid."""
    from services.trainer.evaluation import generate, grid_png
    from services.trainer.export import export_onnx, triton_config, verify_onnx
    from services.trainer.models import LATENT_DIM, load_generator
    from services.trainer.training import SAMPLE_GRID

    generator = load_generator((out_dir / "generator.pt").read_bytes())
    metrics = json.loads((out_dir / "metrics.json").read_text())
    onnx = export_onnx(generator)
    metrics["onnx_max_abs_diff"] = verify_onnx(generator, onnx, seed=1)
    z = torch.randn(SAMPLE_GRID, LATENT_DIM, generator=torch.Generator().manual_seed(3))
    return {"onnx": onnx, "config_pbtxt": triton_config(model_id, image_size, backend),
            "checkpoint": (out_dir / "checkpoint.pt").read_bytes(), "metrics": metrics,
            "steps_done": int(metrics["steps"]), "dataset_sha256": metrics.pop("dataset_sha256"),
            "sample_png": grid_png(generate(generator, z), nrow=4)}


async def publish(settings: TrainerSettings, job_id: str, result: dict[str, Any]) -> None:
    pool = await create_pool(settings, schema=SCHEMA)
    nc = await connect_as(settings, name="atelier-trainer-ddp")
    objects = ObjectStore(settings)
    try:
        job = await store.get_job(pool, job_id)
        assert job is not None
        model = await store.get_model(pool, job.model_id)
        assert model is not None
        sample_id = await store_sample(nc, pool, settings, job, result["sample_png"], result["steps_done"])
        await publish_version(pool, objects, model, job, result, sample_id)
    finally:
        objects.close()
        await nc.drain()
        await pool.close()


def main(model_id: str) -> None:
    """Run under torchrun: every rank calls this; rank 0 talks to the platform."""
    settings = TrainerSettings()  # type: ignore[call-arg]  # every field has a default or comes from env
    configure_logging(settings)
    cuda = settings.trainer_gpu and torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo", timeout=timedelta(minutes=10))
    try:
        rank = dist.get_rank()
        box: list[Any] = [None]
        if rank == 0:
            try:
                box[0] = asyncio.run(claim(settings, model_id))
            except Exception as exc:
                box[0] = {"error": str(exc)}
        dist.broadcast_object_list(box, src=0)
        if "error" in box[0]:
            raise SystemExit(f"rank {rank}: {box[0]['error']}")
        job_id, config = box[0]["job_id"], TrainConfig(**{**box[0]["config"], "device": "cuda" if cuda else "cpu"})
        with tempfile.TemporaryDirectory(prefix="atelier-ddp-") as out:
            try:
                run(config, box[0]["images"], Path(out))
                if rank == 0:
                    result = export_result(Path(out), model_id, config.image_size, settings.trainer_triton_backend)
                    asyncio.run(publish(settings, job_id, result))
            except Exception as exc:
                if rank == 0:
                    asyncio.run(fail(settings, job_id, f"{type(exc).__name__}: {exc}"))
                raise
    finally:
        dist.destroy_process_group()

