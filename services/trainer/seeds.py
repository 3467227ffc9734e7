"""Seed suggestions (`models.seed_suggestions`): for each of the artist's style models whose latest
version can be generated from and was trained on some of the given works, the seed among
0 .. SEEDS - 1 whose output comes closest to each of those works.

Outputs are made as inference makes them: the latent of a seed is `shared.latents.latent_for_seed`
(the rule inference uses), run through the version's own `model.onnx` with ONNX Runtime (what
Triton runs), so generating mode `sample` from the suggested seed reproduces the output searched.
Where the version ships latent directions (mode `edit`), each of them is tried from the closest seed
at a few amounts, and the one that brings the output at least EDIT_MIN_GAIN closer is offered too.
Closeness is the originality descriptor distance (shared/originality.py): the version's
`originality.json` holds the descriptors of each training work, keyed by work id, and a work whose
consent was withdrawn is no longer in it (its versions are not active either, and the trainer's
withdrawals are checked too), so it is never suggested for. The search runs in a worker thread and
its result is kept per (model, version, works) in a bounded LRU cache. A request waits at most
SEARCH_BUDGET_S for its searches (a 64 px model takes seconds on one core): one still running goes on
in the background and the answer counts it in `still_searching`, so asking again shortly finds it."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np
import orjson

from services.trainer import consent_store, store
from services.trainer.version_files import read_directions
from shared import originality
from shared.contracts.trainer_seeds import SeedSuggestion, SeedSuggestions, SeedSuggestionsRequest
from shared.contracts.triton import INPUT_NAME, ORIGINALITY_FILE, onnx_key, version_file_key
from shared.latents import latent_for_seed, moved
from shared.logging import get_logger
from shared.objectstore import ObjectStore

log = get_logger(__name__)
SEEDS = 256  # seeds searched per version
BATCH = 64  # latents per generator call
MAX_MODELS = 10  # of the artist's models searched per request (newest first)
CACHE_SIZE = 256  # (model, version, works) results kept
EDIT_AMOUNTS = (-2.0, -1.0, 1.0, 2.0)  # tried along each of the version's directions from the closest seed
EDIT_MIN_GAIN = 0.1  # an edit is suggested when it comes at least 10 % closer than the plain seed
SEARCH_BUDGET_S = 10.0  # a request waits this long for searches; later ones find them finished (cached)

Array = np.ndarray[Any, Any]
Generate = Callable[[Array], Array]  # z [N, 128] float32 -> images [N, 3, S, S] in [-1, 1]


@dataclass(frozen=True, slots=True)
class Closest:
    seed: int
    distance: float
    # The version's direction (id) and amount that bring the seed's output closer still, if any.
    direction: int | None = None
    amount: float | None = None
    edited_distance: float | None = None


def seed_latents(n: int) -> Array:
    """[n, LATENT_DIM]: the latents of seeds 0 .. n - 1, exactly as inference draws them."""
    return np.stack([latent_for_seed(s) for s in range(n)])


def closest_seeds(generate: Generate, works: Mapping[str, Sequence[Sequence[float]]], n_seeds: int = SEEDS,
                  batch: int = BATCH) -> dict[str, Closest]:
    """For each work (its descriptors), the seed in 0 .. n_seeds - 1 whose output's descriptor is
    nearest to any of them; ties go to the smaller seed."""
    names = [w for w, descs in works.items() if len(descs) > 0]
    if not names:
        return {}
    ref = np.concatenate([np.asarray(works[w], np.float64).reshape(-1, originality.DESCRIPTOR_DIM) for w in names])
    owner = np.concatenate([np.full(len(works[w]), i) for i, w in enumerate(names)])
    z = seed_latents(n_seeds)
    desc = np.concatenate([originality.descriptors(generate(z[i:i + batch])) for i in range(0, n_seeds, batch)])
    desc = desc.astype(np.float64)
    d2 = (desc * desc).sum(1)[:, None] + (ref * ref).sum(1)[None, :] - 2.0 * desc @ ref.T
    dist = np.sqrt(np.maximum(d2, 0.0))  # [seeds, reference rows]
    per_work = np.full((n_seeds, len(names)), np.inf)
    for i in range(len(names)):
        per_work[:, i] = dist[:, owner == i].min(axis=1)
    best = per_work.argmin(axis=0)  # first minimum: the smaller seed on ties
    return {w: Closest(int(best[i]), float(per_work[best[i], i])) for i, w in enumerate(names)}


def closer_by_direction(generate: Generate, works: Mapping[str, Sequence[Sequence[float]]],
                        found: Mapping[str, Closest], directions: Sequence[tuple[int, Sequence[float]]],
                        amounts: Sequence[float] = EDIT_AMOUNTS, min_gain: float = EDIT_MIN_GAIN) -> dict[str, Closest]:
    """`found` with, for each work, the (direction id, amount) of mode `edit` from its seed whose
    output comes nearest the work, kept only when that is at least `min_gain` closer than the seed's."""
    if not directions or not found:
        return dict(found)
    plan = [(w, i, a) for w in found for i, _ in directions for a in amounts]
    vectors = dict(directions)
    z = np.stack([moved(latent_for_seed(found[w].seed)[None], np.asarray(vectors[i], np.float64), a)[0]
                  for w, i, a in plan])
    desc = np.concatenate([originality.descriptors(generate(z[k:k + BATCH])) for k in range(0, len(z), BATCH)])
    out = dict(found)
    for k, (w, i, a) in enumerate(plan):
        ref = np.asarray(works[w], np.float64).reshape(-1, originality.DESCRIPTOR_DIM)
        d = float(np.sqrt(((ref - desc[k].astype(np.float64)) ** 2).sum(axis=1)).min())
        so_far = out[w].edited_distance
        if d < (found[w].distance * (1 - min_gain) if so_far is None else so_far):
            out[w] = Closest(found[w].seed, found[w].distance, i, float(a), d)
    return out


def onnx_generator(model: bytes) -> Generate:
    """The version's exported generator on ONNX Runtime, one thread (the trainer shares the CPU)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def generate(z: Array) -> Array:
        return np.asarray(session.run(None, {INPUT_NAME: np.ascontiguousarray(z, np.float32)})[0])

    return generate


Key = tuple[str, int, tuple[str, ...]]  # (model, version, work ids searched)


class SeedFinder:
    def __init__(self, pool: asyncpg.Pool, objects: ObjectStore | None, budget_s: float = SEARCH_BUDGET_S) -> None:
        self.pool, self.objects, self.budget_s = pool, objects, budget_s
        self.cache: OrderedDict[Key, dict[str, Closest]] = OrderedDict()
        # Searches under way: one per key however many ask, and one that outlives its request's
        # deadline still lands in the cache for the next.
        self.inflight: dict[Key, asyncio.Task[dict[str, Closest]]] = {}

    async def suggest(self, actor_id: str, req: SeedSuggestionsRequest) -> SeedSuggestions:
        likes = {w.work_id: w.likes for w in req.works}
        order = list(likes)
        if not order or self.objects is None:
            return SeedSuggestions(items=[], seeds_searched=SEEDS, still_searching=0)
        withdrawn = await consent_store.withdrawn_among(self.pool, order)
        order = [w for w in order if w not in withdrawn]
        searches: list[tuple[store.ServableModelRow, float, asyncio.Future[dict[str, Closest]]]] = []
        for m in await store.servable_models_with_works(self.pool, actor_id, order, MAX_MODELS):
            try:
                planned = await self._plan(m, order)
            except Exception as exc:  # one unreadable version must not hide the others
                log.warning("trainer.seeds.failed", model_id=m.model_id, version=m.version, error=str(exc))
                continue
            if planned is not None:
                searches.append((m, *planned))
        if searches:
            await asyncio.wait([t for _, _, t in searches], timeout=self.budget_s)
        items: list[SeedSuggestion] = []
        for m, scale, task in searches:
            if not task.done() or task.cancelled() or task.exception() is not None:
                continue
            items += [SeedSuggestion(model_id=m.model_id, model_name=m.name, version=m.version, work_id=w,
                                     likes=likes[w], seed=c.seed, distance=round(c.distance, 6),
                                     relative_distance=round(c.distance / scale, 4), direction=c.direction,
                                     amount=c.amount, edited_distance=None if c.edited_distance is None
                                     else round(c.edited_distance, 6))
                      for w, c in task.result().items()]
        rank = {w: i for i, w in enumerate(order)}
        items.sort(key=lambda s: (rank[s.work_id], s.distance, s.model_id))
        return SeedSuggestions(items=items, seeds_searched=SEEDS,
                               still_searching=sum(not t.done() for _, _, t in searches))

    async def _plan(self, m: store.ServableModelRow,
                    wanted: list[str]) -> tuple[float, asyncio.Future[dict[str, Closest]]] | None:
        """(the version's originality scale, the search of its wanted works), None when it holds none."""
        assert self.objects is not None
        raw = await self.objects.read(version_file_key(m.repository_path, ORIGINALITY_FILE))
        if raw is None:
            return None
        doc = orjson.loads(raw)
        if doc.get("feature") != originality.FEATURE:
            return None
        held = {w["work_id"]: w["descriptors"] for w in doc.get("works", [])}
        works = {w: held[w] for w in wanted if w in held}
        if not works:
            return None
        scale = max(float(doc.get("scale") or 1.0), 1e-6)
        key: Key = (m.model_id, m.version, tuple(sorted(works)))
        if key in self.cache:
            self.cache.move_to_end(key)
            done: asyncio.Future[dict[str, Closest]] = asyncio.get_running_loop().create_future()
            done.set_result(self.cache[key])
            return scale, done
        task = self.inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._search(key, m.repository_path, works))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())  # logged in _search
            self.inflight[key] = task
        return scale, task

    async def _search(self, key: Key, path: str, works: dict[str, Any]) -> dict[str, Closest]:
        assert self.objects is not None
        try:
            model = await self.objects.read(onnx_key(path))
            if model is None:
                raise FileNotFoundError(f"{path} has no model.onnx")
            directions = [(int(d["id"]), d["vector"]) for d in await read_directions(self.objects, path) or []]

            def search() -> dict[str, Closest]:
                generate = onnx_generator(model)
                return closer_by_direction(generate, works, closest_seeds(generate, works), directions)

            found = await asyncio.to_thread(search)
        except Exception as exc:
            log.warning("trainer.seeds.failed", model_id=key[0], version=key[1], error=str(exc))
            raise
        finally:
            self.inflight.pop(key, None)
        self.cache[key] = found
        while len(self.cache) > CACHE_SIZE:
            self.cache.popitem(last=False)
        return found
