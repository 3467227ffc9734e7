"""Originality of a generated image: its distance to the nearest training work, in numpy only.

The trainer ships, beside each version's model.onnx, the descriptors of its training works (never
their pixels), one entry per work so that a work whose consent is withdrawn can be dropped
(`drop_work`). Inference computes each output's descriptor here and compares.

The descriptor is the trainer's (services/trainer/quality.py `descriptors`): the image resized to
32 px (antialiased bilinear), an 8x8 colour thumbnail and the band-pass energy of two levels of a
Laplacian pyramid (5-tap binomial blur, reflect padding) pooled to 8x8 and 4x4: 432 floats. This
is the same computation in numpy; a unit test checks both agree on random and generated images.
Infrastructure-free math: no torch, no I/O.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DESCRIPTOR_SIZE, DESCRIPTOR_DIM = 32, 432
FEATURE = f"lappyr-{DESCRIPTOR_SIZE}px-{DESCRIPTOR_DIM}"
NEAR_COPY_THRESHOLD = 0.65  # the trainer's calibrated default (quality.NEAR_COPY_THRESHOLD)

Array = np.ndarray[Any, Any]
_BINOMIAL = np.array([1.0, 4.0, 6.0, 4.0, 1.0], np.float64) / 16.0


def _resize_matrix(n_in: int, n_out: int) -> Array:
    """[n_out, n_in] weights of an antialiased bilinear (triangle filter) resize, torch's convention."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    m = np.zeros((n_out, n_in), np.float64)
    for i in range(n_out):
        center = scale * (i + 0.5)
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), n_in)
        j = np.arange(lo, hi)
        w = np.maximum(0.0, 1.0 - np.abs((j - center + 0.5) / support))
        m[i, lo:hi] = w / w.sum()
    return m


def _resized(x: Array, size: int) -> Array:
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    rows, cols = _resize_matrix(x.shape[-2], size), _resize_matrix(x.shape[-1], size)
    return np.asarray(np.einsum("ih,nchw,jw->ncij", rows, x, cols))


def _blur(x: Array) -> Array:
    p = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)), mode="reflect")
    h, w = x.shape[-2:]
    v = sum(_BINOMIAL[k] * p[:, :, k:k + h, :] for k in range(5))
    return np.asarray(sum(_BINOMIAL[k] * v[:, :, :, k:k + w] for k in range(5)))


def _down(x: Array) -> Array:
    return _blur(x)[:, :, ::2, ::2]


def _up(x: Array) -> Array:
    n, c, h, w = x.shape
    out = np.zeros((n, c, 2 * h, 2 * w), x.dtype)
    out[:, :, ::2, ::2] = x
    return np.asarray(_blur(out) * 4.0)


def _pool(x: Array, size: int) -> Array:
    n, c, h, w = x.shape
    return np.asarray(x.reshape(n, c, size, h // size, size, w // size).mean(axis=(3, 5)).reshape(n, -1))


def descriptors(images: Array) -> Array:
    """[N, 3, S, S] in [-1, 1] (S a multiple of 32 or 32 itself) -> float32 [N, 432]."""
    x = _resized(np.asarray(images, np.float64), DESCRIPTOR_SIZE)
    small = _down(x)
    fine = np.abs(x - _up(small))
    coarse = np.abs(small - _up(_down(small)))
    blocks = [_pool(x, 8) / np.sqrt(192), 4.0 * _pool(fine, 8) / np.sqrt(192), 4.0 * _pool(coarse, 4) / np.sqrt(48)]
    return np.asarray(np.concatenate(blocks, axis=1), np.float32)


# -- the reference a version ships ------------------------------------------------------------------


def reference_document(descs: Array, work_ids: list[str | None], scale: float,
                       threshold: float = NEAR_COPY_THRESHOLD, feature: str = FEATURE) -> dict[str, Any]:
    """The JSON a version ships: descriptors grouped per work (rows of images with no work, e.g.
    refine's rated generations, are left out: originality is measured against others' works)."""
    if len(descs) != len(work_ids):
        raise ValueError("one work id per descriptor row")
    works: dict[str, list[list[float]]] = {}
    for row, work_id in zip(np.asarray(descs, np.float32), work_ids, strict=True):
        if work_id is not None:
            works.setdefault(work_id, []).append([round(float(v), 5) for v in row])
    return {"feature": feature, "scale": float(scale), "near_copy_threshold": float(threshold),
            "works": [{"work_id": w, "descriptors": d} for w, d in works.items()]}


def drop_work(document: dict[str, Any], work_id: str) -> dict[str, Any]:
    """The reference without one work's descriptors (consent withdrawn)."""
    return {**document, "works": [w for w in document.get("works", []) if w["work_id"] != work_id]}


def score(images: Array, document: dict[str, Any]) -> list[dict[str, Any] | None]:
    """Per image: {distance, originality (distance / the reference's scale), near_copy, work_id of
    the nearest work}; None per image when the reference holds no work (or another feature)."""
    rows = [(w["work_id"], d) for w in document.get("works", []) for d in w["descriptors"]]
    if not rows or document.get("feature") != FEATURE:
        return [None] * len(images)
    ref = np.asarray([d for _, d in rows], np.float64)
    desc = descriptors(images).astype(np.float64)
    d2 = (desc * desc).sum(1)[:, None] + (ref * ref).sum(1)[None, :] - 2.0 * desc @ ref.T
    dist = np.sqrt(np.maximum(d2, 0.0))
    scale = max(float(document["scale"]), 1e-6)
    threshold = float(document.get("near_copy_threshold", NEAR_COPY_THRESHOLD))
    out: list[dict[str, Any] | None] = []
    for i, j in enumerate(dist.argmin(axis=1)):
        norm = float(dist[i, j]) / scale
        out.append({"distance": round(float(dist[i, j]), 6), "originality": round(norm, 4),
                    "near_copy": bool(norm < threshold), "nearest_work_id": rows[int(j)][0]})
    return out
