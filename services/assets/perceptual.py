"""Perceptual hashes of uploads, and how near two of them are.

pHash (DCT of a 32x32 grey image, 64 bits) survives resizing, re-encoding and mild colour
changes: a copy scaled to 0.3-1.0x and re-saved as JPEG q 60-90 lands within 4 bits of its
original, while unrelated procedural works of the same style stay 20 bits or more apart
(figures measured on demo/art.py; see the unit tests). dHash (gradients, 64 bits) is stored beside
it as a second opinion: a match needs both to be near.

Hashes are computed from the upright thumbnail (already decoded in the pipeline, so no second
decode and EXIF orientation does not matter). Nearly flat images (a single colour, a faint
gradient) carry no information to compare: they get no hash and are never matched.

For the database the 64 hash bits are a signed bigint, and the pHash is cut into four 16-bit
chunks keyed `position * 65536 + value` (table `asset_hash_chunks`, a btree). Two hashes at most 7 bits apart have
a chunk that differs in at most one bit (pigeonhole: four chunks with two or more each make 8), so
probing each chunk's value and its 16 one-bit neighbours (68 keys) finds every candidate for such a
threshold, while a random hash shares a probed key with only ~0.1% of the stored ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import imagehash
import numpy as np
import scipy.fftpack  # noqa: F401  imagehash imports it on the first pHash (~1.6 s here): at startup instead
from PIL import Image

CHUNKS = 4
CHUNK_BITS = 64 // CHUNKS
INDEXED_MAX_DISTANCE = 2 * CHUNKS - 1  # the largest threshold the chunk probes answer exactly
FLAT_STDDEV = 2.0  # grey levels (0-255) on the 32x32 image below which an image counts as flat


@dataclass(frozen=True)
class PerceptualHash:
    phash: int  # 64 bits as a signed bigint
    dhash: int

    @property
    def chunk_keys(self) -> list[int]:
        return chunk_keys(self.phash)


def _signed(bits: int) -> int:
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def _as_int(h: imagehash.ImageHash) -> int:
    value = 0
    for bit in h.hash.flatten():
        value = (value << 1) | int(bool(bit))
    return _signed(value)


WORKING_SIZE = 64  # both hashes shrink further (pHash to 32x32, dHash to 9x8): one small grey copy serves them


def _grey(image: Image.Image) -> Image.Image:
    rgb = image.convert("RGBA").convert("RGB") if image.mode not in ("RGB", "L") else image
    return rgb.convert("L").resize((WORKING_SIZE, WORKING_SIZE), Image.Resampling.LANCZOS)


def is_flat(grey: Image.Image) -> bool:
    return float(np.asarray(grey, dtype=np.float64).std()) < FLAT_STDDEV


def perceptual_hash(image: Image.Image) -> PerceptualHash | None:
    """The image's pHash and dHash, or None for an image too flat to compare."""
    grey = _grey(image)
    if is_flat(grey):
        return None
    return PerceptualHash(phash=_as_int(imagehash.phash(grey)), dhash=_as_int(imagehash.dhash(grey)))


def distance(a: int, b: int) -> int:
    """Hamming distance of two 64-bit hashes (signed or not)."""
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()


def _chunks(phash: int) -> list[int]:
    unsigned = phash & ((1 << 64) - 1)
    mask = (1 << CHUNK_BITS) - 1
    return [(unsigned >> (i * CHUNK_BITS)) & mask for i in range(CHUNKS)]


def chunk_keys(phash: int) -> list[int]:
    """What is stored and indexed: each chunk's value, keyed by its position."""
    return [i << CHUNK_BITS | value for i, value in enumerate(_chunks(phash))]


def probe_keys(phash: int) -> list[int]:
    """What a lookup asks the index for: each chunk's value and its one-bit neighbours."""
    return [i << CHUNK_BITS | (value ^ flip) for i, value in enumerate(_chunks(phash))
            for flip in (0, *(1 << b for b in range(CHUNK_BITS)))]
