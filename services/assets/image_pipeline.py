"""The CPU part of storing an image: strip, decode, hash, thumbnail, palette, perceptual hash.

Pure functions on bytes, run in the service's processing thread pool.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any

from services.assets.c2pa_intake import read_declaration
from services.assets.metadata import ORIENTATION_TAG, strip_metadata
from services.assets.palette import dominant_colours
from services.assets.perceptual import PerceptualHash, perceptual_hash
from services.assets.thumbnails import encode_thumbnail, make_thumbnail
from services.assets.validation import decode


@dataclass(frozen=True)
class Limits:
    max_pixels: int
    thumbnail_size: int


@dataclass(frozen=True)
class Processed:
    data: bytes  # what is stored as the original
    changed: bool  # False when `data` is exactly the bytes received
    content_type: str
    sha256: str
    width: int
    height: int
    orientation: int
    frames: int
    thumbnail: bytes
    palette: list[str]
    removed_metadata: list[str]
    declared: dict[str, Any] | None = None  # what the upload's C2PA manifest said (c2pa_intake)
    perceptual: PerceptualHash | None = None  # uploads only; None also for a flat image (perceptual.py)

    @property
    def size(self) -> int:
        return len(self.data)


def process_upload(data: bytes, limits: Limits) -> Processed:
    """A user's upload: metadata stripped (pixels untouched), then the stripped bytes must decode."""
    declared = read_declaration(data)  # before stripping removes the manifest
    stripped = strip_metadata(data)
    processed = _finish(stripped.data, stripped.data is not data and stripped.data != data, stripped.orientation,
                        stripped.removed, limits, perceptual=True)
    return dataclasses.replace(processed, declared=declared)


def process_exact(data: bytes, limits: Limits) -> Processed:
    """A generated image with a signed manifest: stored byte for byte, only checked to decode."""
    return _finish(data, False, None, [], limits)


def _finish(data: bytes, changed: bool, orientation: int | None, removed: list[str], limits: Limits,
            *, perceptual: bool = False) -> Processed:
    decoded = decode(data, max_pixels=limits.max_pixels)
    try:
        if orientation is None:
            value = decoded.image.getexif().get(ORIENTATION_TAG, 1)
            orientation = int(value) if isinstance(value, int) and 1 <= value <= 8 else 1
        thumb = make_thumbnail(decoded.image, size=limits.thumbnail_size, orientation=orientation)
        return Processed(
            data=data,
            changed=changed,
            content_type=decoded.content_type,
            sha256=hashlib.sha256(data).hexdigest(),
            width=decoded.width,
            height=decoded.height,
            orientation=orientation,
            frames=decoded.frames,
            thumbnail=encode_thumbnail(thumb),
            palette=dominant_colours(thumb),
            removed_metadata=removed,
            perceptual=perceptual_hash(thumb) if perceptual else None,
        )
    finally:
        decoded.image.close()
