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


MAX_WEIGHT = 4  # how many times the best-received output counts against one training work


def refine_weight(score: int | None, likes: int, min_score: int) -> int:
    """How much one of the owner's outputs counts in a refine: the owner's rating (a 5 counts more
    than a 4 when 4 is the bar) plus the audience's likes on the work it was published as, on a
    log scale (1 like +1, 3 likes +2, 7 likes +3), between 1 and MAX_WEIGHT."""
    rated = score - min_score + 1 if score is not None and score >= min_score else 0
    liked = (likes + 1).bit_length() - 1  # floor(log2(1 + likes))
    return max(1, min(MAX_WEIGHT, rated + liked))


async def refine_extras(nc: NATS, pool: asyncpg.Pool, settings: TrainerSettings, job: JobRow) -> list[str]:
    """The owner's best-rated or most-liked generations of this model, each repeated by its weight,
    asked for once per job and then kept (with which of them others liked)."""
    if job.extra_asset_ids is not None:
        return list(job.extra_asset_ids)
    min_score = job.min_score or settings.trainer_refine_min_score
    try:
        top = (await call(nc, inference.RATINGS_TOP, {"model_id": job.model_id, "min_score": min_score, "limit": 200},
                          timeout=settings.inference_timeout_s)).root
    except NotFound:
        top = []  # inference has not heard of the model (no generations yet)
    weights: dict[str, int] = {}
    liked: dict[str, None] = {}
    for output in top:
        weights[output.asset_id] = max(weights.get(output.asset_id, 0),
                                       refine_weight(output.score, output.likes, min_score))
        if output.likes:
            liked[output.asset_id] = None
    await store.set_extra_assets(pool, job.id, [a for a, w in weights.items() for _ in range(w)], list(liked))
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
    # A work counts once; a refine's extra image as many times as it is listed (its weight).
    counts = {a: extras.count(a) for a in dict.fromkeys(extras)}
    weights = [1 if a in model.asset_ids else counts.get(a, 1) for a in wanted]
    fresh = await store.get_job(pool, job.id) if job.kind == "refine" else None
    liked_ids = set((fresh.liked_asset_ids if fresh else None) or [])
    liked = [i for i, a in enumerate(wanted) if a in liked_ids]
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
    log.info("trainer.dataset.fetched", images=len(images), works=len(model.work_ids), rated=len(counts),
             liked=len(liked), bytes=sum(len(i) for i in images))
    work_of = {a: w.id for w in consent.works for a in w.asset_ids}
    # Which work each image belongs to (None: a rated generation): the originality reference keeps
    # descriptors per work, so a work can be dropped from it later.
    sources = [work_of.get(a) for a in wanted]
    return list(images), {"images": len(images), "works": len(model.work_ids), "rated_generations": len(counts),
                          "sources": sources, "weights": weights, "liked": liked}
