"""Decode an image with Pillow, within limits, to prove it is what its bytes claim.

Runs in a worker thread (never on the event loop). The format is decided by the bytes, never by a
declared type or file name; the pixel count is checked from the header before any pixel is
decoded, so a decompression bomb costs nothing; a truncated or corrupt file fails the full decode.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from services.assets.metadata import sniff
from shared.errors import Unprocessable, UnsupportedMediaType

PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}


@dataclass
class Decoded:
    image: Image.Image  # loaded, positioned on the first frame
    content_type: str
    width: int
    height: int
    frames: int


def decode(data: bytes, *, max_pixels: int) -> Decoded:
    content_type = sniff(data)
    if content_type is None:
        raise UnsupportedMediaType("only PNG, JPEG and WebP images are accepted (judged by content)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit applies below
        try:
            image = Image.open(io.BytesIO(data), formats=[PIL_FORMATS[content_type]])
        except Image.DecompressionBombError:
            raise _bomb(max_pixels) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise Unprocessable("the file is not a readable image") from None
        width, height = image.size
        frames = int(getattr(image, "n_frames", 1))
        if width < 1 or height < 1:
            raise Unprocessable("the image has no pixels")
        if width * height * frames > max_pixels:
            raise _bomb(max_pixels)
        try:
            for index in range(frames):
                image.seek(index)
                image.load()
            image.seek(0)
            image.load()
        except (OSError, ValueError, SyntaxError, EOFError):
            raise Unprocessable("the image is truncated or corrupt") from None
    return Decoded(image, content_type, width, height, frames)


def _bomb(max_pixels: int) -> Unprocessable:
    return Unprocessable(f"the image has too many pixels (limit {max_pixels:,} including all frames)")
