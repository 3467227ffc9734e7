"""The originality figure inference records on every output: distance to the nearest training
work's descriptor, a near-copy mark, and references that keep each work's descriptors apart."""

from __future__ import annotations

import numpy as np
import pytest

from shared import originality


def _works(n: int, size: int = 64, seed: int = 0) -> np.ndarray:
    """Flat shapes on flat backgrounds, each work different: [n, 3, size, size] in [-1, 1]."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, 3, size, size), np.float32)
    for i in range(n):
        out[i] = rng.uniform(-1, 1, (3, 1, 1))
        x, y = rng.integers(0, size // 2, 2)
        w = rng.integers(size // 4, size // 2)
        out[i, :, y:y + w, x:x + w] = rng.uniform(-1, 1, (3, 1, 1))
    return out


def _stripes(n: int, size: int = 64) -> np.ndarray:
    """Images unlike any flat-shape work: stripes of two colours, a different period each."""
    rng = np.random.default_rng(5)
    out = np.empty((n, 3, size, size), np.float32)
    for i in range(n):
        a, b = rng.uniform(-1, 1, (2, 3, 1, 1))
        rows = (np.arange(size) // (2 + i)) % 2 == 0
        out[i] = np.where(rows[None, :, None], a, b)
    return out


def _reference(works: np.ndarray, ids: list[str | None]) -> dict:
    desc = originality.descriptors(works)
    d = np.linalg.norm(desc[:, None] - desc[None], axis=2)
    np.fill_diagonal(d, np.inf)
    return originality.reference_document(desc, ids, float(np.median(d.min(axis=1))))


def test_a_training_work_scores_as_a_near_copy_and_a_new_image_does_not() -> None:
    works = _works(10)
    ref = _reference(works, [f"w{i}" for i in range(10)])
    noisy_copy = np.clip(works[3] + np.random.default_rng(1).normal(0, 0.05, works[3].shape), -1, 1)
    new = _stripes(4)
    scores = originality.score(np.concatenate([noisy_copy[None], new]), ref)
    copy, *fresh = scores
    assert copy is not None and copy["near_copy"] and copy["nearest_work_id"] == "w3"
    assert copy["originality"] < 0.3, copy
    assert all(s is not None and not s["near_copy"] and s["originality"] > copy["originality"] for s in fresh), fresh


def test_descriptors_of_any_supported_size_have_432_values_and_agree_across_sizes() -> None:
    works = _works(3, size=128)
    small = works.reshape(3, 3, 32, 4, 32, 4).mean(axis=(3, 5))  # the same pictures at 32 px
    big, tiny = originality.descriptors(works), originality.descriptors(small)
    assert big.shape == tiny.shape == (3, originality.DESCRIPTOR_DIM)
    # The thumbnail block (colour layout) is about the same whatever the output size.
    assert np.abs(big[:, :192] - tiny[:, :192]).max() < 0.02


def test_a_withdrawn_works_descriptors_can_be_dropped() -> None:
    works = _works(6)
    ref = _reference(works, ["a", "a", "b", "c", None, "d"])
    assert [w["work_id"] for w in ref["works"]] == ["a", "b", "c", "d"]  # the None row (a generation) left out
    assert len(ref["works"][0]["descriptors"]) == 2
    without_b = originality.drop_work(ref, "b")
    assert [w["work_id"] for w in without_b["works"]] == ["a", "c", "d"]
    (score,) = originality.score(works[2:3], without_b)
    assert score is not None and score["nearest_work_id"] != "b"


def test_no_reference_no_figure() -> None:
    works = _works(2)
    empty = {"feature": originality.FEATURE, "scale": 1.0, "works": []}
    assert originality.score(works, empty) == [None, None]
    other_feature = {**_reference(works, ["a", "b"]), "feature": "something-else"}
    assert originality.score(works, other_feature) == [None, None]
    with pytest.raises(ValueError):
        originality.reference_document(originality.descriptors(works), ["a"], 1.0)
