"""The images a job trains on, gathered on the worker's asyncio side before the process starts.

Consent is checked again for every attempt (an author may withdraw it while the job waits); the
asset ids are the ones fixed when the model was accepted, plus for a refine the owner's top-rated
generations, fixed on the job's first attempt so a resumed job sees the same dataset.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import asyncpg
from nats.aio.client import Client as NATS

from services.trainer import store
from services.trainer.settings import TrainerSettings
from services.trainer.store import JobRow, ModelRow
from shared.contracts import assets, community, inference
from shared.errors import NotFound
from shared.logging import get_logger
from shared.messaging.rpc import call

log = get_logger(__name__)
DOWNLOAD_CONCURRENCY = 8
READ_URL_EXPIRY_S = 600


class PermanentJobError(Exception):
    """The job can never succeed as it is (consent withdrawn, assets gone): fail it, do not retry."""


async def refine_extras(nc: NATS, pool: asyncpg.Pool, settings: TrainerSettings, job: JobRow) -> list[str]:
    """The owner's best-rated generations of this model, asked for once per job and then kept."""
    if job.extra_asset_ids is not None:
        return list(job.extra_asset_ids)
    try:
        top = (await call(nc, inference.RATINGS_TOP,
                          {"model_id": job.model_id,
                           "min_score": job.min_score or settings.trainer_refine_min_score, "limit": 200},
                          timeout=settings.inference_timeout_s)).root
    except NotFound:
        top = []  # inference has not heard of the model (no generations yet)
    await store.set_extra_assets(pool, job.id, list(dict.fromkeys(t.asset_id for t in top)))
    fresh = await store.get_job(pool, job.id)
    assert fresh is not None
    return list(fresh.extra_asset_ids or [])


async def gather_images(nc: NATS, pool: asyncpg.Pool, http: aiohttp.ClientSession, settings: TrainerSettings,
                        model: ModelRow, job: JobRow) -> tuple[list[bytes], dict[str, Any]]:
    """Image bytes for the job, and a summary of where they came from."""
    consent = await call(nc, community.WORKS_TRAINING_SET, {"work_ids": list(model.work_ids)},
                         actor_id=model.owner_id, timeout=settings.community_timeout_s)
    if consent.refused:
        raise PermanentJobError("works no longer usable for training (consent withdrawn or removed): "
                                + ", ".join(consent.refused))
    asset_ids = list(model.asset_ids)
    extras = await refine_extras(nc, pool, settings, job) if job.kind == "refine" else []
    wanted = list(dict.fromkeys(asset_ids + extras))[: settings.trainer_max_dataset_images]
    urls = await call(nc, assets.READ_URLS, {"ids": wanted, "expires_s": READ_URL_EXPIRY_S},
                      timeout=settings.assets_timeout_s)
    if urls.missing:
        raise PermanentJobError("training images were deleted: " + ", ".join(urls.missing))
    limit = asyncio.Semaphore(DOWNLOAD_CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=settings.download_timeout_s)

    async def download(asset_id: str) -> bytes:
        async with limit, http.get(urls.urls[asset_id], timeout=timeout) as resp:
            if resp.status == 404:
                raise PermanentJobError(f"training image {asset_id} is gone")
            resp.raise_for_status()
            if (resp.content_length or 0) > settings.trainer_max_image_bytes:
                raise PermanentJobError(f"training image {asset_id} is too large")
            data = bytearray()
            async for chunk in resp.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > settings.trainer_max_image_bytes:
                    raise PermanentJobError(f"training image {asset_id} is too large")
            return bytes(data)

    images = await asyncio.gather(*(download(a) for a in wanted))
    log.info("trainer.dataset.fetched", images=len(images), works=len(model.work_ids), rated=len(extras),
             bytes=sum(len(i) for i in images))
    work_of = {a: w.id for w in consent.works for a in w.asset_ids}
    # Which work each image belongs to (None: a rated generation): the originality reference keeps
    # descriptors per work, so a work can be dropped from it later.
    sources = [work_of.get(a) for a in wanted]
    return list(images), {"images": len(images), "works": len(model.work_ids), "rated_generations": len(extras),
                          "sources": sources}
