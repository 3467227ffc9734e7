"""The dominant colours of an image, most common first, as "#rrggbb" strings."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

PALETTE_SIZE = 5
Colour = npt.NDArray[np.float64]
_CANDIDATES = 16
# Clusters closer than this (RGB distance) are one colour to the eye: jittered or anti-aliased
# shades of a single paint merge instead of crowding out the other colours.
_MERGE_DISTANCE = 48.0
# Quantising is costly on many distinct colours (gradients, JPEG noise): sample at most this many
# pixels per side; NEAREST keeps real pixel colours instead of blending neighbours.
_SAMPLE_SIDE = 96


def dominant_colours(image: Image.Image, count: int = PALETTE_SIZE) -> list[str]:
    """Median cut (refined by k-means) into a few candidates, near ones merged, biggest first.

    Computed on the thumbnail (cheap). Fully transparent pixels do not count. Always `count`
    entries: an image with fewer distinct colours repeats its most common one.
    """
    if max(image.size) > _SAMPLE_SIDE:
        scale = _SAMPLE_SIDE / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.NEAREST)
    rgba = np.asarray(image.convert("RGBA"))
    pixels = rgba[..., :3].reshape(-1, 3)
    visible = rgba[..., 3].reshape(-1) > 0
    if visible.any():
        pixels = pixels[visible]
    strip = Image.fromarray(np.ascontiguousarray(pixels).reshape(-1, 1, 3), "RGB")
    quantised = strip.quantize(colors=_CANDIDATES, method=Image.Quantize.MEDIANCUT, kmeans=2)
    flat = quantised.getpalette() or []
    counted: list[tuple[int, int]] = quantised.getcolors(_CANDIDATES) or []  # type: ignore[assignment]
    clusters = [(float(n), np.array(flat[3 * i:3 * i + 3], dtype=np.float64)) for n, i in counted]
    clusters = _merge_close(clusters)
    clusters.sort(key=lambda c: (-c[0], tuple(c[1])))
    colours = ["#{:02x}{:02x}{:02x}".format(*(round(v) for v in rgb)) for _, rgb in clusters[:count]]
    while len(colours) < count:
        colours.append(colours[0] if colours else "#000000")
    return colours


def _merge_close(clusters: list[tuple[float, Colour]]) -> list[tuple[float, Colour]]:
    """Repeatedly merge the closest pair under the threshold into its weighted mean."""
    clusters = list(clusters)
    while len(clusters) > 1:
        best: tuple[float, int, int] | None = None
        for a in range(len(clusters)):
            for b in range(a + 1, len(clusters)):
                distance = float(np.linalg.norm(clusters[a][1] - clusters[b][1]))
                if distance < _MERGE_DISTANCE and (best is None or distance < best[0]):
                    best = (distance, a, b)
        if best is None:
            break
        _, a, b = best
        (wa, ca), (wb, cb) = clusters[a], clusters[b]
        clusters[a] = (wa + wb, (ca * wa + cb * wb) / (wa + wb))
        del clusters[b]
    return clusters
