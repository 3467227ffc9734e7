"""The five dominant colours of a rendered image, from its pixels (no decode, well under 1 ms).

Assets stores a generated image with the palette its maker measured instead of decoding it again.
Same meaning as the assets service's palette of an upload (`shared.palette`), computed the cheap
way the pixels allow: a 4-bit-per-channel histogram whose busiest cells, by their mean colour, are
the candidates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shared.palette import PALETTE_SIZE, SAMPLE_SIDE, palette

_CANDIDATES = 16


def dominant_colours(pixels: np.ndarray[Any, Any], count: int = PALETTE_SIZE) -> list[str]:
    """`pixels` uint8 [H, W, 3] → `count` colours, most common first."""
    step = max(1, -(-max(pixels.shape[:2]) // SAMPLE_SIDE))
    flat = np.ascontiguousarray(pixels[::step, ::step, :3]).reshape(-1, 3).astype(np.int64)
    cells = (flat[:, 0] >> 4) << 8 | (flat[:, 1] >> 4) << 4 | (flat[:, 2] >> 4)
    counts = np.bincount(cells, minlength=4096)
    busiest = np.argsort(-counts, kind="stable")[:_CANDIDATES]
    busiest = busiest[counts[busiest] > 0]
    sums = [np.bincount(cells, weights=flat[:, ch], minlength=4096)[busiest] for ch in range(3)]
    return palette(((float(counts[c]), [float(sums[ch][k] / counts[c]) for ch in range(3)])
                    for k, c in enumerate(busiest)), count)
