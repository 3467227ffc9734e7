"""The statistics of the training-set advice, on feature vectors and pHashes (no I/O).

Outliers: each image's typical distance to the set is the mean distance to its k nearest other
images (k = 3, fewer in a small set), which a cluster of two copies cannot hide. An image is named
when that distance is above median + Z·MAD of the set's (MAD scaled by 1.4826 to estimate a standard
deviation, floored at a tenth of the median so that a set of near-identical images does not turn
noise into outliers) AND at least RATIO times the median AND at least MIN_DISTANCE: far in the set's own spread, far
against its typical distance and visibly different in absolute terms. Fewer than MIN_SET images
say nothing: there is no "rest" to compare with.
Confidence is a logistic in the robust z: 0.5 at z = Z, 0.95 at z = Z + 3.

Coverage: an image of the artist's works outside the set "adds coverage" when its nearest set image
is at least COVER_RATIO times as far as set images typically are from their nearest neighbour (and
at least COVER_MIN_DISTANCE), yet it is no outlier among all the artist's images (the set and the
candidates together, the rule above): a part of the artist's range the set leaves out, not a stray.
Confidence: a logistic in that ratio (0.5 at COVER_RATIO, 0.95 at twice it), times the probability
that it is not an outlier (1 - the outlier confidence it would get).

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
MIN_DISTANCE = 0.3  # in feature units (1: no colour in common): closer than this never blurs a style
MIN_SET = 5
MAD_TO_SD = 1.4826
MAX_HAMMING = 6
COVER_RATIO = 2.0
COVER_MIN_DISTANCE = 0.1
MAX_COVERAGE = 10  # coverage items given, farthest first
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


def _logistic(x: float, at_half: float, at_95: float) -> float:
    return 1.0 / (1.0 + math.exp(-(x - at_half) * math.log(19) / (at_95 - at_half)))


@dataclass(frozen=True)
class Spread:
    """Each image's kNN distance and the set's robust figures (see the module doc)."""

    scores: npt.NDArray[np.float64]
    k: int
    median: float
    spread: float
    threshold: float

    def z(self, i: int) -> float:
        return (float(self.scores[i]) - self.median) / self.spread

    def is_outlier(self, i: int) -> bool:
        return float(self.scores[i]) > self.threshold


def spread_of(d: npt.NDArray[np.float64]) -> Spread:
    k = min(K_NEAREST, (len(d) - 1) // 2)
    scores = knn_scores(d, k)
    median = float(np.median(scores))
    spread = max(MAD_TO_SD * float(np.median(np.abs(scores - median))), 0.1 * median, 1e-9)
    return Spread(scores, k, median, spread, max(median + Z * spread, RATIO * median, MIN_DISTANCE))


def outliers(d: npt.NDArray[np.float64]) -> list[Finding]:
    if len(d) < MIN_SET:
        return []
    sp = spread_of(d)
    scores, k, median, spread, threshold = sp.scores, sp.k, sp.median, sp.spread, sp.threshold
    found = []
    for i in np.argsort(-scores):
        s = float(scores[i])
        if s <= threshold:
            break
        z = (s - median) / spread
        found.append(Finding("outlier", (int(i),), score=round(z, 3),
                             confidence=round(_logistic(z, Z, Z + 3), 4),
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


def coverage(d: npt.NDArray[np.float64], n_set: int) -> list[Finding]:
    """Rows n_set.. of `d` (over set + candidates) that would add coverage, farthest first; members
    are indices into the candidates."""
    n = len(d)
    if n_set < 2 or n == n_set or n < MIN_SET:
        return []
    in_set = d[:n_set, :n_set] + np.diag(np.full(n_set, np.inf))
    typical = max(float(np.median(in_set.min(axis=1))), 1e-9)
    everyone = spread_of(d)
    found = []
    for c in range(n_set, n):
        nearest = float(d[c, :n_set].min())
        ratio = nearest / typical
        if ratio < COVER_RATIO or nearest < COVER_MIN_DISTANCE or everyone.is_outlier(c):
            continue
        z = everyone.z(c)
        p_stray = _logistic(z, Z, Z + 3)
        confidence = _logistic(ratio, COVER_RATIO, 2 * COVER_RATIO) * (1.0 - p_stray)
        found.append(Finding("coverage", (c - n_set,), score=round(ratio, 3), confidence=round(confidence, 4),
                             evidence={"nearest_set_distance": round(nearest, 4),
                                       "set_typical_nearest": round(typical, 4), "ratio": round(ratio, 3),
                                       "robust_z_among_your_works": round(z, 3),
                                       "outlier_threshold_among_your_works": round(everyone.threshold, 4)}))
    found.sort(key=lambda f: -f.score)
    return found[:MAX_COVERAGE]


def analyse(images: list[ImageFeatures], candidates: list[ImageFeatures] | None = None,
            ) -> tuple[list[Finding], dict[str, float]]:
    """Outliers (farthest first), near-duplicate pairs (closest first), then the candidates that would
    add coverage (farthest first), and set-wide figures."""
    if not images:
        return [], {"images": 0.0}
    everything = [*images, *(candidates or [])]
    d_all = distances(np.stack([im.vector for im in everything]))
    d = d_all[:len(images), :len(images)]
    upper = d[np.triu_indices(len(images), 1)]
    summary = {"images": float(len(images)),
               "median_pair_distance": round(float(np.median(upper)), 4) if len(upper) else 0.0}
    return outliers(d) + near_duplicates(images, d) + coverage(d_all, len(images)), summary
