"""The statistics of the training-set advice, on feature vectors and pHashes (no I/O).

Outliers: each image's typical distance to the set is the mean distance to its k nearest other
images (k = 3, fewer in a small set), which a cluster of two copies cannot hide. An image is named
when that distance is above median + Z·MAD of the set's (MAD scaled by 1.4826 to estimate a standard
deviation, floored at a tenth of the median so that a set of near-identical images does not turn
noise into outliers) AND at least RATIO times the median AND at least MIN_DISTANCE: far in the set's own spread, far
against its typical distance and visibly different in absolute terms. Fewer than MIN_SET images
say nothing: there is no "rest" to compare with.
Confidence is a logistic in the robust z: 0.5 at z = Z, 0.95 at z = Z + 3.

Near-duplicates: pairs whose 64-bit pHashes differ in at most MAX_HAMMING bits (the assets service's
near-duplicate rule) or, when either image is too flat for a pHash, whose feature distance is below
MAX_FLAT_DISTANCE. Confidence falls linearly from 1 (identical hashes) to 0.5 at the threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from services.trainer.advice_features import ImageFeatures, hamming
from shared.contracts.trainer_advice import AdviceKind

K_NEAREST = 3
Z = 3.5
RATIO = 1.5
MIN_DISTANCE = 0.2  # in feature units (1: no colour in common): closer than this never blurs a style
MIN_SET = 5
MAD_TO_SD = 1.4826
MAX_HAMMING = 6
MAX_FLAT_DISTANCE = 0.02


@dataclass(frozen=True)
class Finding:
    kind: AdviceKind
    members: tuple[int, ...]  # indices into the analysed images
    score: float
    confidence: float
    evidence: dict[str, float] = field(default_factory=dict)


def distances(vectors: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Pairwise Euclidean distances of the rows."""
    sq = (vectors * vectors).sum(axis=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * vectors @ vectors.T
    d = np.sqrt(np.clip(d2, 0.0, None))
    np.fill_diagonal(d, 0.0)
    return d  # type: ignore[no-any-return]


def knn_scores(d: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.float64]:
    """Mean distance of each row to its k nearest other rows."""
    others = np.sort(d + np.diag(np.full(len(d), np.inf)), axis=1)[:, :k]
    return others.mean(axis=1)  # type: ignore[no-any-return]


def outliers(d: npt.NDArray[np.float64]) -> list[Finding]:
    n = len(d)
    if n < MIN_SET:
        return []
    k = min(K_NEAREST, (n - 1) // 2)
    scores = knn_scores(d, k)
    median = float(np.median(scores))
    spread = max(MAD_TO_SD * float(np.median(np.abs(scores - median))), 0.1 * median, 1e-9)
    threshold = max(median + Z * spread, RATIO * median, MIN_DISTANCE)
    found = []
    for i in np.argsort(-scores):
        s = float(scores[i])
        if s <= threshold:
            break
        z = (s - median) / spread
        found.append(Finding("outlier", (int(i),), score=round(z, 3),
                             confidence=round(1.0 / (1.0 + math.exp(-(z - Z) * math.log(19) / 3.0)), 4),
                             evidence={"distance": round(s, 4), "set_median_distance": round(median, 4),
                                       "set_mad": round(spread, 4), "robust_z": round(z, 3),
                                       "threshold": round(threshold, 4), "ratio_to_median": round(s / median, 3)
                                       if median > 0 else 0.0, "neighbours": float(k)}))
    return found


def near_duplicates(images: list[ImageFeatures], d: npt.NDArray[np.float64]) -> list[Finding]:
    found = []
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            a, b = images[i].phash, images[j].phash
            dist = float(d[i, j])
            if a is not None and b is not None:
                bits = hamming(a, b)
                if bits > MAX_HAMMING:
                    continue
                confidence = 1.0 - 0.5 * bits / MAX_HAMMING
                evidence = {"phash_distance_bits": float(bits), "phash_threshold_bits": float(MAX_HAMMING)}
            elif dist <= MAX_FLAT_DISTANCE:
                confidence = 1.0 - 0.5 * dist / MAX_FLAT_DISTANCE
                evidence = {"flat_threshold": MAX_FLAT_DISTANCE}
            else:
                continue
            evidence["feature_distance"] = round(dist, 4)
            found.append(Finding("near_duplicate", (i, j), score=round(confidence, 4),
                                 confidence=round(confidence, 4), evidence=evidence))
    found.sort(key=lambda f: -f.score)
    return found


def analyse(images: list[ImageFeatures]) -> tuple[list[Finding], dict[str, float]]:
    """Outliers (farthest first) then near-duplicate pairs (closest first), and set-wide figures."""
    if not images:
        return [], {"images": 0.0}
    d = distances(np.stack([im.vector for im in images]))
    upper = d[np.triu_indices(len(images), 1)]
    summary = {"images": float(len(images)),
               "median_pair_distance": round(float(np.median(upper)), 4) if len(upper) else 0.0}
    return outliers(d) + near_duplicates(images, d), summary
