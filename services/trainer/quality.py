"""Evaluation that needs no downloaded network: held-out split, precision/recall, memorisation and
the originality descriptors a version ships for inference.

Descriptors are computed from the image alone at a fixed 32 px working size, so models of any size
are comparable: an 8x8 colour thumbnail (layout and palette) and the local band-pass energy of two
Laplacian-pyramid levels pooled to coarse grids (where the edges and textures are), 432 floats per
image, each block weighted so it contributes about equally. They measure originality (distance to
the nearest training work). Precision and recall use them plus 12 sharpness figures at 64 px.

Precision and recall follow Kynkäänniemi et al. 2019 ("Improved Precision and Recall Metric for
Assessing Generative Models"), written from the paper's description: each set's manifold is the
union of balls around its points with radius the distance to the k-th nearest neighbour in the
same set; precision is the fraction of generated samples inside the real manifold, recall the
fraction of real images inside the generated one. A collapsed model has high precision and low
recall; noise has both low.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from services.trainer.swd import _downsample, _upsample

Array = np.ndarray[Any, Any]

DESCRIPTOR_SIZE, DESCRIPTOR_DIM = 32, 432
SHARPNESS_SIZE = 64
HOLDOUT_MIN_WORKS = 12  # from this many works on, every HOLDOUT_EVERY-th is held out
HOLDOUT_EVERY = 5
PR_K = 3
FEATURE_DIM = 444
SHARPNESS_WEIGHT = 8.0
# A sample closer to its nearest training work than this fraction of the typical distance between
# two different training works is marked a near copy. Calibrated on the five demo styles (20 works
# each, 64 px): new works of the style score 0.74 at the least (median ~1.0); training works with
# noise (sigma 0.05) score <= 0.07, re-encoded as JPEG q70 <= 0.62, shifted by 2 px <= 0.64.
NEAR_COPY_THRESHOLD = 0.65


def holdout_split(image_hashes: Sequence[str]) -> tuple[list[int], list[int]]:
    """(train, held-out) indices: every HOLDOUT_EVERY-th work in sha256 order, so the split does
    not depend on the order the works arrive in. Fewer than HOLDOUT_MIN_WORKS: nothing held out."""
    n = len(image_hashes)
    if n < HOLDOUT_MIN_WORKS:
        return list(range(n)), []
    order = sorted(range(n), key=lambda i: image_hashes[i])
    held = sorted(order[::HOLDOUT_EVERY])
    held_set = set(held)
    return [i for i in range(n) if i not in held_set], held


def image_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _resized(images: torch.Tensor, size: int) -> torch.Tensor:
    x = images.detach().float().cpu()
    return x if x.shape[-1] == size else F.interpolate(x, size=(size, size), mode="bilinear", antialias=True)


def _bands(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """|fine band|, |coarse band| and the half-size low-pass of a Laplacian pyramid."""
    small = _downsample(x)
    return (x - _upsample(small)).abs(), (small - _upsample(_downsample(small))).abs(), small


@torch.no_grad()
def descriptors(images: torch.Tensor) -> Array:
    """[N, 3, S, S] in [-1, 1] -> float32 [N, DESCRIPTOR_DIM] at 32 px: colour layout and where the
    edges are. Robust to noise and JPEG re-encoding, so near copies stay near (originality)."""
    x = _resized(images, DESCRIPTOR_SIZE)
    fine, coarse, _ = _bands(x)
    thumb = F.adaptive_avg_pool2d(x, 8).flatten(1)  # 192
    e_fine = F.adaptive_avg_pool2d(fine, 8).flatten(1)  # 192
    e_coarse = F.adaptive_avg_pool2d(coarse, 4).flatten(1)  # 48
    # Band energies are ~10x smaller than pixel values: scale them up so edges count as much as colour.
    blocks = [thumb / np.sqrt(192), 4.0 * e_fine / np.sqrt(192), 4.0 * e_coarse / np.sqrt(48)]
    return torch.cat(blocks, dim=1).numpy().astype(np.float32)


@torch.no_grad()
def features(images: torch.Tensor) -> Array:
    """Descriptors plus whole-image sharpness at 64 px (mean and 90th percentile of each band's
    magnitude, per channel): a blurred average of the works sits close to every work in the
    descriptor space, not in this one. [N, FEATURE_DIM], for precision and recall."""
    fine, coarse, _ = _bands(_resized(images, SHARPNESS_SIZE))
    bands = (fine, coarse)
    sharp = torch.cat([b.flatten(2).mean(2) for b in bands] + [b.flatten(2).quantile(0.9, dim=2) for b in bands],
                      dim=1)  # 12
    return np.asarray(np.concatenate([descriptors(images), SHARPNESS_WEIGHT * sharp.numpy() / np.sqrt(12)],
                                     axis=1), dtype=np.float32)


def _pairwise(a: Array, b: Array) -> Array:
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.asarray(np.sqrt(np.maximum(d2, 0.0)))


def _knn_radii(x: Array, k: int) -> Array:
    d = _pairwise(x, x)
    k = min(k, len(x) - 1)
    if k <= 0:
        return np.zeros(len(x), np.float32)
    return np.sort(d, axis=1)[:, k]  # column 0 is the point itself


def precision_recall(real: Array, fake: Array, k: int = PR_K) -> dict[str, float]:
    """k-NN manifold precision and recall of generated descriptors against real ones."""
    d = _pairwise(real, fake)  # [R, F]
    real_r, fake_r = _knn_radii(real, k), _knn_radii(fake, k)
    precision = float((d <= real_r[:, None]).any(axis=0).mean())
    recall = float((d <= fake_r[None, :]).any(axis=1).mean())
    return {"precision": precision, "recall": recall}


def coverage_of(reference: Array, fake: Array, k: int = PR_K) -> float:
    """Fraction of `reference` points inside the generated manifold (recall on other works)."""
    return float((_pairwise(reference, fake) <= _knn_radii(fake, k)[None, :]).any(axis=1).mean())


def originality_reference(train_images: torch.Tensor) -> dict[str, Any]:
    """What a version ships instead of its training images: descriptors [N, DESCRIPTOR_DIM] (float16) and
    the scale that normalises distances (the median distance from a work to its nearest other work)."""
    desc = descriptors(train_images)
    if len(desc) > 1:
        d = _pairwise(desc, desc)
        np.fill_diagonal(d, np.inf)
        scale = float(np.median(d.min(axis=1)))
    else:
        scale = float(np.linalg.norm(desc[0])) or 1.0
    return {"descriptors": desc.astype(np.float16), "scale": max(scale, 1e-6),
            "near_copy_threshold": NEAR_COPY_THRESHOLD, "feature": f"lappyr-{DESCRIPTOR_SIZE}px-{DESCRIPTOR_DIM}"}


def originality(images: torch.Tensor, reference: dict[str, Any]) -> list[dict[str, Any]]:
    """Per image: distance to the nearest training work's descriptor, that distance normalised by
    the reference scale, the nearest work's index and whether it is a near copy."""
    desc = descriptors(images)
    ref = np.asarray(reference["descriptors"], dtype=np.float32)
    d = _pairwise(desc, ref)
    nearest = d.argmin(axis=1)
    threshold = float(reference.get("near_copy_threshold", NEAR_COPY_THRESHOLD))
    out = []
    for i, j in enumerate(nearest):
        dist = float(d[i, j])
        norm = dist / float(reference["scale"])
        out.append({"nearest_distance": dist, "originality": norm, "nearest_index": int(j),
                    "near_copy": norm < threshold})
    return out


def memorisation(fake: torch.Tensor, reference: dict[str, Any]) -> dict[str, float]:
    """Summary over generated samples of their distance to the nearest training work."""
    per = originality(fake, reference)
    norm = np.array([p["originality"] for p in per])
    dist = np.array([p["nearest_distance"] for p in per])
    return {"nn_distance_mean": float(dist.mean()), "originality_median": float(np.median(norm)),
            "originality_p05": float(np.quantile(norm, 0.05)),
            "near_copy_fraction": float(np.mean([p["near_copy"] for p in per]))}
