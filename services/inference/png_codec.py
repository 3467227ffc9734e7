"""Generator output tensors to PNG bytes, and back.

Pure, synchronous and CPU-bound: the service calls these through `run_in_executor`, never on the
event loop. Encoding is deterministic: no metadata chunks (no time, no text, no gamma/ICC), a fixed
zlib level and no optimizer pass, so the same pixels always give the same bytes — which is what lets
"same model version, mode, parameters and seed → same image bytes" hold end to end.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

# zlib level 6: the usual speed/size balance; fixed so the bytes never depend on a library default.
PNG_COMPRESS_LEVEL = 6


class ImageDecodeError(ValueError):
    """The bytes are not an image Pillow can read."""


def to_uint8(images: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """[N,3,H,W] (or [3,H,W]) floats in [-1, 1] → [N,H,W,3] uint8; NaN becomes mid-grey."""
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected an image tensor [N,3,H,W], got shape {x.shape}")
    x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
    x = np.rint((np.clip(x, -1.0, 1.0) + 1.0) * 127.5)
    return np.asarray(x.astype(np.uint8).transpose(0, 2, 3, 1))


def encode_png(pixels: np.ndarray[Any, Any]) -> bytes:
    """One [H,W,3] uint8 image → PNG bytes (deterministic)."""
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"expected [H,W,3] uint8 pixels, got {pixels.dtype} {pixels.shape}")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels), "RGB").save(
        buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL, optimize=False
    )
    return buf.getvalue()


def images_to_png(images: np.ndarray[Any, Any]) -> list[bytes]:
    """A generator batch [N,3,H,W] in [-1, 1] → one PNG per image."""
    return [encode_png(p) for p in to_uint8(images)]


def decode_image(data: bytes) -> np.ndarray[Any, Any]:
    """Image bytes (PNG, JPEG, WebP, ...) → [H,W,3] uint8 RGB pixels."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    # Pillow's ways of saying "not an image" (or an absurdly large one).
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageDecodeError(f"unreadable image: {exc}") from exc


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the header alone, without decoding the pixels."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageDecodeError(f"unreadable image: {exc}") from exc


def strip_metadata(data: bytes) -> bytes:
    """Re-encode only the pixels: what a site that drops metadata chunks does to an image."""
    return encode_png(decode_image(data))
