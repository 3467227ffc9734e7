"""Thumbnails: the first frame, upright, fitted into a square box, as WebP."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

THUMBNAIL_TYPE = "image/webp"
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def display_image(image: Image.Image) -> Image.Image:
    """An 8-bit RGB or RGBA view of any decoded mode (palette, 16-bit grey, CMYK, ...)."""
    if image.mode in ("RGB", "RGBA"):
        return image
    if image.mode.startswith("I"):  # 16/32-bit greyscale: keep the high byte
        grey = np.asarray(image, dtype=np.uint32) >> 8
        return Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8), "L").convert("RGB")
    alpha = image.has_transparency_data
    return image.convert("RGBA" if alpha else "RGB")


def make_thumbnail(image: Image.Image, *, size: int, orientation: int = 1) -> Image.Image:
    source = display_image(image)
    scale = min(1.0, size / max(source.size))
    box = (max(1, round(source.width * scale)), max(1, round(source.height * scale)))
    # resize() returns a new image (the decoded original is never copied); reducing_gap makes
    # it shrink by whole factors first, which is what keeps a 40 MP source fast.
    thumb = source.resize(box, Image.Resampling.LANCZOS, reducing_gap=2.0) if scale < 1 else source.copy()
    if orientation in _TRANSPOSE:
        thumb = thumb.transpose(_TRANSPOSE[orientation])
    return thumb


def encode_thumbnail(thumb: Image.Image) -> bytes:
    buf = io.BytesIO()
    thumb.save(buf, format="WEBP", quality=82, method=4)
    return buf.getvalue()
