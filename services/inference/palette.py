"""The five dominant colours of a rendered image, from its pixels (no decode, well under 1 ms).

Assets stores a generated image with the palette its maker measured instead of decoding it again.
Same meaning as the assets service's palette of an upload (five `#rrggbb`, most common first, near
shades merged, the first repeated when there are fewer), computed the cheap way the pixels allow: a
4-bit-per-channel histogram whose busiest cells, by their mean colour, are merged like near colours.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PALETTE_SIZE = 5
_CANDIDATES = 16
_MERGE_DISTANCE = 48.0  # RGB distance under which two colours are one to the eye (as assets uses)
_SAMPLE_SIDE = 96


def dominant_colours(pixels: np.ndarray[Any, Any], count: int = PALETTE_SIZE) -> list[str]:
    """`pixels` uint8 [H, W, 3] → `count` colours, most common first."""
    step = max(1, -(-max(pixels.shape[:2]) // _SAMPLE_SIDE))
    flat = np.ascontiguousarray(pixels[::step, ::step, :3]).reshape(-1, 3).astype(np.int64)
    cells = (flat[:, 0] >> 4) << 8 | (flat[:, 1] >> 4) << 4 | (flat[:, 2] >> 4)
    counts = np.bincount(cells, minlength=4096)
    busiest = np.argsort(-counts, kind="stable")[:_CANDIDATES]
    busiest = busiest[counts[busiest] > 0]
    sums = [np.bincount(cells, weights=flat[:, ch], minlength=4096)[busiest] for ch in range(3)]
    clusters = [(float(counts[c]), [float(sums[ch][k] / counts[c]) for ch in range(3)])
                for k, c in enumerate(busiest)]
    clusters = _merge_close(clusters)
    clusters.sort(key=lambda c: (-c[0], tuple(c[1])))
    colours = ["#{:02x}{:02x}{:02x}".format(*(min(255, round(v)) for v in rgb)) for _, rgb in clusters[:count]]
    while len(colours) < count:
        colours.append(colours[0] if colours else "#000000")
    return colours


def _merge_close(clusters: list[tuple[float, list[float]]]) -> list[tuple[float, list[float]]]:
    """Repeatedly merge the closest pair under the threshold into its weighted mean."""
    while len(clusters) > 1:
        best: tuple[float, int, int] | None = None
        for a in range(len(clusters)):
            ca = clusters[a][1]
            for b in range(a + 1, len(clusters)):
                cb = clusters[b][1]
                distance = ((ca[0] - cb[0]) ** 2 + (ca[1] - cb[1]) ** 2 + (ca[2] - cb[2]) ** 2) ** 0.5
                if distance < _MERGE_DISTANCE and (best is None or distance < best[0]):
                    best = (distance, a, b)
        if best is None:
            break
        _, a, b = best
        (wa, ca), (wb, cb) = clusters[a], clusters[b]
        clusters[a] = (wa + wb, [(x * wa + y * wb) / (wa + wb) for x, y in zip(ca, cb, strict=True)])
        del clusters[b]
    return clusters
