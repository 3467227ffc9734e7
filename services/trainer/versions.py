"""Publishing a finished training run as a model version, shared by the queue worker and the
multi-node DDP entry point: export files to the model repository, then the version row and
`trainer.model.trained` in one transaction (outbox)."""

from __future__ import annotations

import base64
import contextlib
from typing import Any

import asyncpg
from nats.aio.client import Client as NATS

from services.trainer import consent, store
from services.trainer.checkpoints import checkpoint_key
from services.trainer.events import trained_event
from services.trainer.settings import TrainerSettings
from services.trainer.store import JobRow, ModelRow
from services.trainer.version_files import write_version_files
from shared.contracts import assets
from shared.contracts.triton import config_key, onnx_key, repository_path
from shared.logging import get_logger
from shared.messaging.rpc import call
from shared.objectstore import ObjectStore
from shared.outbox import enqueue

log = get_logger(__name__)
SCHEMA = "trainer"


async def store_sample(nc: NATS, pool: asyncpg.Pool, settings: TrainerSettings, job: JobRow,
                       png: bytes, step: int) -> str:
    """A sample grid becomes an asset of the model's owner (kind `sample`)."""
    asset = await call(nc, assets.STORE, {
        "owner_id": job.owner_id, "kind": "sample", "content_type": "image/png",
        "data_b64": base64.b64encode(png).decode(),
        "meta": {"model_id": job.model_id, "version": job.version, "step": step}},
        timeout=settings.assets_timeout_s)
    await store.insert_sample(pool, asset.id, job.model_id, job.id, step)
    return asset.id


async def publish_version(pool: asyncpg.Pool, objects: ObjectStore, model: ModelRow, job: JobRow,
                          result: dict[str, Any], sample_asset_id: str | None) -> bool:
    """`result`: onnx, config_pbtxt, checkpoint, metrics, steps_done, dataset_sha256; optionally
    directions, originality and image_sources (the work of each image), shipped beside model.onnx.
    Returns False when the job had already ended (a duplicate delivery published it first)."""
    model_id, version = model.id, job.version
    path = repository_path(model_id, version)
    # Files first: once the event is out, inference may load the version at once.
    await objects.write(onnx_key(path), result["onnx"])
    await objects.write(config_key(model_id), result["config_pbtxt"].encode(), "text/plain")
    await objects.write(checkpoint_key(model_id, version, "final"), result["checkpoint"])
    await write_version_files(objects, path, result)
    metrics = result["metrics"]
    async with pool.acquire() as conn, conn.transaction():
        if not await store.finish(conn, job.id, "succeeded", step=result["steps_done"]):
            return False
        await store.insert_version(conn, {
            "model_id": model_id, "version": version, "job_id": job.id, "steps": result["steps_done"],
            "metrics": metrics, "dataset_sha256": result["dataset_sha256"], "repository_path": path,
            "sample_asset_id": sample_asset_id})
        await enqueue(conn, SCHEMA, trained_event(model, job, result, path))
        await consent.after_publish(conn, model, job, len(model.asset_ids) + len(job.extra_asset_ids or []))
    with contextlib.suppress(Exception):
        await objects.delete(checkpoint_key(model_id, version))
    log.info("trainer.model.trained", model_id=model_id, version=version, steps=result["steps_done"],
             swd=metrics.get("swd"), swd_untrained=metrics.get("swd_untrained"))
    return True
