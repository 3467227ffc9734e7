"""The dominant colours of an uploaded image, most common first, as "#rrggbb" strings
(`shared.palette` says what a palette is)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from shared.palette import PALETTE_SIZE, SAMPLE_SIDE, palette

_CANDIDATES = 16


def dominant_colours(image: Image.Image, count: int = PALETTE_SIZE) -> list[str]:
    """Median cut (refined by k-means) into a few candidates, near ones merged, biggest first.

    Computed on the thumbnail (cheap). Fully transparent pixels do not count. Always `count`
    entries: an image with fewer distinct colours repeats its most common one.
    """
    if max(image.size) > SAMPLE_SIDE:
        # NEAREST keeps real pixel colours instead of blending neighbours.
        scale = SAMPLE_SIDE / max(image.size)
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
    return palette(((float(n), flat[3 * i:3 * i + 3]) for n, i in counted), count)
