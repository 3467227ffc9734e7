"""Training-set advice for a style model's owner (`models.advice`): the images of the model's current
training set are read as training reads them (presigned URLs from assets, downloaded here), their
features computed in a worker thread (services/trainer/advice_features.py) and kept per asset (an
asset's bytes never change), then analysed (services/trainer/advice_stats.py)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import aiohttp
import asyncpg
from nats.aio.client import Client as NATS

from services.trainer import consent_store, store
from services.trainer.advice_features import FeatureError, ImageFeatures, image_features
from services.trainer.advice_stats import (
    COVER_MIN_DISTANCE,
    COVER_RATIO,
    MAX_HAMMING,
    MIN_DISTANCE,
    MIN_SET,
    RATIO,
    Finding,
    Z,
    analyse,
)
from services.trainer.settings import TrainerSettings
from shared.contracts import assets, community
from shared.contracts.trainer_advice import (
    AdviceImage,
    TrainingSetAdvice,
    TrainingSetAdviceItem,
    TrainingSetAdviceRequest,
)
from shared.errors import NotFound
from shared.logging import get_logger
from shared.messaging.rpc import call

log = get_logger(__name__)
MAX_IMAGES = 300  # images analysed per request (the first ones of the set)
MAX_CANDIDATE_WORKS = 300  # the owner's newest works outside the set considered for coverage
MAX_CANDIDATE_IMAGES = 200
CACHE_SIZE = 4096  # features kept, per asset, least recently used dropped
DOWNLOAD_CONCURRENCY = 8
READ_URL_EXPIRY_S = 300
METHOD = (
    "Each image is centre-cropped to a square like the training data and described in CIE Lab by its coarse "
    "layout (8x8 cells, half weight) and its palette (a soft 4x4x4 Lab histogram of 16x16 cells, Hellinger "
    "distance); two images with no colour in common are about 1 apart. Outlier: the mean distance to its 3 "
    f"nearest images (fewer in a small set) exceeds the set's median + {Z} robust SDs (1.4826 x MAD), "
    f"{RATIO} x the median and {MIN_DISTANCE}; sets of fewer than {MIN_SET} images get no outlier advice; "
    f"confidence is a logistic in the robust z: 0.5 at z = {Z}, 0.95 at z = {Z + 3}. Near-duplicate: 64-bit "
    f"pHashes at most {MAX_HAMMING} bits apart (flat images: features almost equal); confidence 1 for "
    "identical hashes, 0.5 at the threshold. Coverage: one of your human-made works outside the set, allowed "
    f"for training, whose nearest set image is at least {COVER_RATIO} x as far as set images typically are "
    f"from their nearest neighbour (and at least {COVER_MIN_DISTANCE}), and which is no outlier among all your "
    "images by the rule above; confidence: a logistic in that ratio (0.5 at the bar, 0.95 at twice it) times "
    "1 - its outlier confidence.")


class Advisor:
    def __init__(self, settings: TrainerSettings, pool: asyncpg.Pool, nc: NATS, http: aiohttp.ClientSession) -> None:
        self.settings, self.pool, self.nc, self.http = settings, pool, nc, http
        self.cache: OrderedDict[str, ImageFeatures] = OrderedDict()

    async def advise(self, actor_id: str, req: TrainingSetAdviceRequest) -> TrainingSetAdvice:
        model = await store.get_model(self.pool, req.id)
        if model is None or model.owner_id != actor_id:
            raise NotFound(f"no model {req.id!r}")
        by_work = {w.work_id: w.asset_ids for w in await consent_store.model_works(self.pool, model.id)}
        withdrawn = set(await consent_store.withdrawn_of_model(self.pool, model))
        # The current set: the model's works but those whose consent was withdrawn (the next training
        # leaves them out), their images once each.
        pairs = list(dict.fromkeys((w, a) for w in model.work_ids if w not in withdrawn for a in by_work.get(w, [])))
        wanted = pairs[:MAX_IMAGES]
        others = await self._candidates(model) if req.kind in (None, "coverage") else []
        found = await self._features([a for _, a in wanted + others])
        analysed = [(w, a) for w, a in wanted if a in found]
        compared = [(w, a) for w, a in others if a in found and a not in {b for _, b in analysed}]
        findings, summary = await asyncio.to_thread(analyse, [found[a] for _, a in analysed],
                                                    [found[a] for _, a in compared])
        items = [_item(f, compared if f.kind == "coverage" else analysed) for f in findings
                 if req.kind in (None, f.kind)]
        log.info("trainer.advice.given", model_id=model.id, images=len(pairs), analysed=len(analysed),
                 candidates=len(compared), items=len(items))
        return TrainingSetAdvice(model_id=model.id, images=len(pairs), analysed=len(analysed),
                                 candidates=len(compared), skipped=[a for _, a in wanted if a not in found],
                                 items=items, summary=summary, method=METHOD)

    async def _candidates(self, model: store.ModelRow) -> list[tuple[str, str]]:
        """(work, asset) of the owner's human-made works outside the set that may train a model."""
        timeout = self.settings.community_timeout_s
        try:
            owner = await call(self.nc, community.USERS_GET, {"user_id": model.owner_id}, timeout=timeout)
        except NotFound:
            return []
        in_set, work_ids = set(model.work_ids), list[str]()
        query: dict[str, object] = {"author": owner.username, "origin": "human", "limit": 100}
        while len(work_ids) < MAX_CANDIDATE_WORKS:
            page = await call(self.nc, community.WORKS_LIST, query, actor_id=model.owner_id, timeout=timeout)
            work_ids += [w.id for w in page.items if w.id not in in_set and w.allow_training]
            if page.next_cursor is None:
                break
            query["cursor"] = page.next_cursor
        if not work_ids:
            return []
        usable = await call(self.nc, community.WORKS_TRAINING_SET, {"work_ids": work_ids[:MAX_CANDIDATE_WORKS]},
                            actor_id=model.owner_id, timeout=timeout)
        return list(dict.fromkeys((w.id, a) for w in usable.works for a in w.asset_ids))[:MAX_CANDIDATE_IMAGES]

    async def _features(self, asset_ids: list[str]) -> dict[str, ImageFeatures]:
        found = {a: self.cache[a] for a in asset_ids if a in self.cache}
        for a in found:
            self.cache.move_to_end(a)
        todo = list(dict.fromkeys(a for a in asset_ids if a not in found))
        if not todo:
            return found
        urls = await call(self.nc, assets.READ_URLS, {"ids": todo, "expires_s": READ_URL_EXPIRY_S},
                          timeout=self.settings.assets_timeout_s)
        limit = asyncio.Semaphore(DOWNLOAD_CONCURRENCY)

        async def one(asset_id: str) -> None:
            async with limit:
                data = await self._download(asset_id, urls.urls[asset_id])
                if data is None:
                    return
                try:
                    features = await asyncio.to_thread(image_features, data)
                except Exception as exc:  # one unreadable image is skipped, not the whole advice
                    log.warning("trainer.advice.unreadable", asset_id=asset_id, error=repr(exc),
                                expected=isinstance(exc, FeatureError))
                    return
            found[asset_id] = self.cache[asset_id] = features
            while len(self.cache) > CACHE_SIZE:
                self.cache.popitem(last=False)

        await asyncio.gather(*(one(a) for a in todo if a in urls.urls))
        return found

    async def _download(self, asset_id: str, url: str) -> bytes | None:
        """The image's bytes, or None (logged) when it is gone, too large or the store fails."""
        limit = self.settings.trainer_max_image_bytes
        timeout = aiohttp.ClientTimeout(total=self.settings.download_timeout_s)
        try:
            async with self.http.get(url, timeout=timeout) as resp:
                if resp.status != 200 or (resp.content_length or 0) > limit:
                    log.warning("trainer.advice.download_refused", asset_id=asset_id, status=resp.status)
                    return None
                data = bytearray()
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    data += chunk
                    if len(data) > limit:
                        log.warning("trainer.advice.too_large", asset_id=asset_id)
                        return None
                return bytes(data)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("trainer.advice.download_failed", asset_id=asset_id, error=repr(exc))
            return None


def _item(f: Finding, analysed: list[tuple[str, str]]) -> TrainingSetAdviceItem:
    images = [AdviceImage(work_id=analysed[i][0], asset_id=analysed[i][1]) for i in f.members]
    ev = f.evidence
    if f.kind == "outlier":
        title = "Far from the rest of the set: it would blur the style"
        explanation = (f"Work {images[0].work_id} is {ev['distance']:.2f} from its nearest images, "
                       f"{ev['ratio_to_median']:.1f}x the set's typical {ev['set_median_distance']:.2f} "
                       f"({ev['robust_z']:.1f} robust SDs above it). A model trained on it averages this look "
                       "into the others; leave it out unless the style should include it.")
    elif f.kind == "coverage":
        title = "Not in the set, and would widen it"
        explanation = (f"Your work {images[0].work_id} is {ev['nearest_set_distance']:.2f} from the nearest image of "
                       f"the set, {ev['ratio']:.1f}x the {ev['set_typical_nearest']:.2f} at which set images "
                       "typically neighbour each other, yet it is no stray among your works. Adding it would "
                       "teach the model a part of your range the set leaves out.")
    else:
        title = "Near-duplicates: the second copy would add nothing"
        how = (f"their perceptual hashes differ in {ev['phash_distance_bits']:.0f} of 64 bits"
               if "phash_distance_bits" in ev else "their colours and layout are almost equal")
        a, b = images[0].work_id, images[1].work_id
        which = f"Works {a} and {b} are" if a != b else f"Two images of work {a} are"
        explanation = (f"{which} near copies ({how}). Training on both weights this one picture twice and "
                       "teaches nothing new; keep one.")
    return TrainingSetAdviceItem(kind=f.kind, images=images, title=title, explanation=explanation,
                                 score=f.score, confidence=f.confidence, evidence=ev)
