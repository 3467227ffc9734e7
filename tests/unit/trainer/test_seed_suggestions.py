"""The closest-seed search behind `models.seed_suggestions`: a generator whose seed 7 reproduces a
work must suggest seed 7 for it, through the exported ONNX graph too, with seeds drawn as inference
draws them."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np
import orjson
import pytest
import torch

from services.inference import latents as inference_latents
from services.trainer import seeds, store
from services.trainer.export import export_onnx
from services.trainer.models import DCGANGenerator
from services.trainer.seeds import closer_by_direction, closest_seeds, onnx_generator, seed_latents
from shared import originality
from shared.contracts.trainer_seeds import SeedSuggestionsRequest
from shared.latents import moved

Array = np.ndarray[Any, Any]


def _pattern(k: int, size: int = 32) -> Array:
    """A distinct image per k: stripes of a per-k frequency and colour, in [-1, 1]."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    rgb = [np.sin(2 * np.pi * (k + 1) * (xx + c * yy) + c) for c in (0.3, 0.6, 0.9)]
    return np.stack(rgb).astype(np.float32)


def _planted(plants: dict[int, Array]) -> Any:
    """A generator: the planted image for a planted seed's latent, a noisy z-dependent image otherwise."""
    planted = {s: inference_latents.latent_for_seed(s) for s in plants}
    proj = np.random.default_rng(0).standard_normal((128, 3 * 32 * 32)).astype(np.float32) / 12

    def generate(z: Array) -> Array:
        out = np.tanh(z @ proj).reshape(len(z), 3, 32, 32)
        for i, row in enumerate(z):
            for s, zs in planted.items():
                if np.array_equal(row, zs):
                    out[i] = plants[s]
        return out

    return generate


def test_the_seed_that_reproduces_a_work_is_suggested_for_it() -> None:
    a, b = _pattern(2), _pattern(5)
    works = {"workA": originality.descriptors(a[None]).tolist(), "workB": originality.descriptors(b[None]).tolist()}
    found = closest_seeds(_planted({7: a, 200: b}), works, n_seeds=256, batch=64)
    assert found["workA"].seed == 7 and found["workA"].distance < 1e-4
    assert found["workB"].seed == 200 and found["workB"].distance < 1e-4


def test_a_work_with_several_images_matches_any_of_them_and_empty_works_are_left_out() -> None:
    a, b = _pattern(1), _pattern(3)
    works = {"multi": originality.descriptors(np.stack([a, b])).tolist(), "none": []}
    found = closest_seeds(_planted({42: b}), works, n_seeds=64, batch=16)
    assert set(found) == {"multi"} and found["multi"].seed == 42
    assert closest_seeds(_planted({}), {}, n_seeds=8) == {}


def test_unplanted_works_get_the_truly_nearest_seed() -> None:
    gen = _planted({})
    images = np.concatenate([gen(seed_latents(32)[i:i + 8]) for i in range(0, 32, 8)])
    target = images[19] + 0.01  # near seed 19's output, not equal to it
    found = closest_seeds(gen, {"w": originality.descriptors(target[None]).tolist()}, n_seeds=32, batch=8)
    assert found["w"].seed == 19 and found["w"].distance > 0


def test_seed_latents_are_the_latents_inference_generates_from() -> None:
    z = seed_latents(5)
    batch = inference_latents.sample(seed=0, count=5)
    assert np.array_equal(z, batch.z) and batch.seeds == [0, 1, 2, 3, 4]


def test_through_the_exported_onnx_graph_the_reproducing_seed_is_found() -> None:
    torch.manual_seed(3)
    g = DCGANGenerator(32, 16).eval()
    onnx_bytes = export_onnx(g)
    with torch.no_grad():
        target = g(torch.from_numpy(inference_latents.latent_for_seed(77)[None])).numpy()
    found = closest_seeds(onnx_generator(onnx_bytes), {"w": originality.descriptors(target).tolist()})
    assert found["w"].seed == 77 and found["w"].distance < 1e-3


class _Objects:
    """The bucket: one version's model.onnx and originality.json."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files, self.reads = files, []  # type: ignore[var-annotated]

    async def read(self, key: str) -> bytes | None:
        self.reads.append(key)
        return self.files.get(key)


async def test_the_finder_searches_active_models_skips_withdrawn_works_and_caches(
        monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(4)
    g = DCGANGenerator(32, 16).eval()
    with torch.no_grad():
        images = g(torch.from_numpy(np.stack([inference_latents.latent_for_seed(s) for s in (11, 99)]))).numpy()
    doc = originality.reference_document(originality.descriptors(images), ["01LIKED", "01GONE"], scale=0.5)
    path = "models/01M/3/"
    objects = _Objects({path + "model.onnx": export_onnx(g), path + "originality.json": orjson.dumps(doc)})
    asked: list[list[str]] = []

    async def models(pool: Any, owner_id: str, work_ids: list[str], limit: int) -> list[store.ServableModelRow]:
        asked.append(list(work_ids))
        assert owner_id == "01OWNER"
        return [store.ServableModelRow("01M", "Geometric", ["01LIKED", "01GONE"], 3, path)]

    async def withdrawn(pool: Any, work_ids: list[str]) -> set[str]:
        return {"01GONE"}

    monkeypatch.setattr(seeds.store, "servable_models_with_works", models)
    monkeypatch.setattr(seeds.consent_store, "withdrawn_among", withdrawn)
    finder = seeds.SeedFinder(None, objects)  # type: ignore[arg-type]
    req = SeedSuggestionsRequest.model_validate({"works": [{"work_id": "01LIKED", "likes": 4},
                                                           {"work_id": "01GONE", "likes": 9},
                                                           {"work_id": "01ELSE", "likes": 2}]})
    answer = await finder.suggest("01OWNER", req)
    assert asked == [["01LIKED", "01ELSE"]]  # the withdrawn work is never searched
    assert [(s.model_id, s.version, s.work_id, s.seed, s.likes) for s in answer.items] == [
        ("01M", 3, "01LIKED", 11, 4)]
    assert answer.items[0].distance < 1e-3 and answer.items[0].relative_distance == pytest.approx(
        answer.items[0].distance / 0.5, abs=1e-3) and (answer.seeds_searched, answer.still_searching) == (256, 0)
    onnx_reads = objects.reads.count(path + "model.onnx")
    again = await finder.suggest("01OWNER", req)
    assert again == answer and objects.reads.count(path + "model.onnx") == onnx_reads  # from the cache
    # without the version's files the model is simply left out
    empty = seeds.SeedFinder(None, _Objects({}))  # type: ignore[arg-type]
    assert (await empty.suggest("01OWNER", req)).items == []


async def test_a_search_outlasting_its_budget_goes_on_and_answers_the_next_request(
        monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(5)
    g = DCGANGenerator(32, 16).eval()
    with torch.no_grad():
        image = g(torch.from_numpy(inference_latents.latent_for_seed(30)[None])).numpy()
    path = "models/01M/1/"
    doc = originality.reference_document(originality.descriptors(image), ["01W"], scale=1.0)
    objects = _Objects({path + "model.onnx": export_onnx(g), path + "originality.json": orjson.dumps(doc)})
    release = threading.Event()
    real = seeds.closest_seeds

    def slow(*args: Any, **kwargs: Any) -> Any:
        release.wait(10)
        return real(*args, **kwargs)

    async def models(*_: Any) -> list[store.ServableModelRow]:
        return [store.ServableModelRow("01M", "Slow", ["01W"], 1, path)]

    async def withdrawn(*_: Any) -> set[str]:
        return set()

    monkeypatch.setattr(seeds, "closest_seeds", slow)
    monkeypatch.setattr(seeds.store, "servable_models_with_works", models)
    monkeypatch.setattr(seeds.consent_store, "withdrawn_among", withdrawn)
    finder = seeds.SeedFinder(None, objects, budget_s=0.2)  # type: ignore[arg-type]
    req = SeedSuggestionsRequest.model_validate({"works": [{"work_id": "01W", "likes": 3}]})
    first = await finder.suggest("01OWNER", req)
    assert (first.items, first.still_searching) == ([], 1)
    again = await finder.suggest("01OWNER", req)  # the same search, not a second one
    assert again.still_searching == 1 and len(finder.inflight) == 1
    release.set()
    await asyncio.wait_for(asyncio.gather(*finder.inflight.values()), 20)
    done = await finder.suggest("01OWNER", req)
    assert [s.seed for s in done.items] == [30]
    assert done.still_searching == 0 and not finder.inflight


def test_a_direction_that_brings_the_seed_closer_is_offered_and_none_otherwise() -> None:
    rng = np.random.default_rng(1)
    vectors = [(1, rng.standard_normal(128).tolist()), (2, rng.standard_normal(128).tolist())]
    target = _pattern(4)
    edited_z = moved(inference_latents.latent_for_seed(7)[None], np.asarray(vectors[1][1]), 2.0)[0]
    proj = np.random.default_rng(0).standard_normal((128, 3 * 32 * 32)).astype(np.float32) / 12

    def generate(z: Array) -> Array:
        out = np.tanh(z @ proj).reshape(len(z), 3, 32, 32)
        out[[bool(np.array_equal(row, edited_z)) for row in z]] = target
        return out

    works = {"w": originality.descriptors(target[None]).tolist()}
    found = closest_seeds(generate, works, n_seeds=16)
    edited = closer_by_direction(generate, works, found, vectors)
    assert (edited["w"].seed, edited["w"].distance) == (found["w"].seed, found["w"].distance)
    planted = closer_by_direction(generate, works, {"w": seeds.Closest(7, 5.0)}, vectors)
    assert (planted["w"].direction, planted["w"].amount) == (2, 2.0) and planted["w"].edited_distance < 1e-4
    # inference's mode edit moves the latent the same way
    batch = inference_latents.edit(7, 1, np.asarray(vectors[1][1]), 2.0)
    assert np.array_equal(batch.z[0], edited_z)
    # nothing 10 % closer: no direction
    plain = closer_by_direction(_planted({}), works, {"w": seeds.Closest(3, 1e-9)}, vectors)
    assert plain["w"].direction is None and plain["w"].edited_distance is None
    assert closer_by_direction(generate, works, found, []) == found
