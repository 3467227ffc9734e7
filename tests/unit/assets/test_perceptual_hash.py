"""Perceptual hashes of uploads: copies stay near, unrelated works far, flat images are not compared."""

from __future__ import annotations

import io
import itertools
import random

import pytest
from PIL import Image

from demo.art import STYLES, render
from services.assets.image_pipeline import Limits, process_exact, process_upload
from services.assets.perceptual import (
    CHUNKS,
    INDEXED_MAX_DISTANCE,
    chunk_keys,
    distance,
    perceptual_hash,
    probe_keys,
)
from services.assets.settings import AssetsSettings

LIMITS = Limits(max_pixels=40_000_000, thumbnail_size=256)
THRESHOLD = AssetsSettings.model_fields["near_duplicate_max_distance"].default
DHASH_THRESHOLD = AssetsSettings.model_fields["near_duplicate_max_dhash_distance"].default


def encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def copy_of(img: Image.Image, scale: float, quality: int) -> bytes:
    small = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BICUBIC)
    return encode(small.convert("RGB"), "JPEG", quality=quality)


def hashed(data: bytes) -> tuple[int, int]:
    ph = process_upload(data, LIMITS).perceptual
    assert ph is not None
    return ph.phash, ph.dhash


@pytest.mark.parametrize(("scale", "quality"), [(0.8, 80), (0.5, 60), (0.3, 70), (1.0, 90)])
@pytest.mark.parametrize("style", ["geometric", "waves", "blobs"])
def test_a_resized_reencoded_copy_is_within_the_threshold(style: str, scale: float, quality: int) -> None:
    original = render(style, 11, 512)
    ph, dh = hashed(encode(original, "PNG"))
    cph, cdh = hashed(copy_of(original, scale, quality))
    assert distance(ph, cph) <= THRESHOLD and distance(dh, cdh) <= DHASH_THRESHOLD


def test_unrelated_works_even_of_one_style_are_far_apart() -> None:
    hashes = {(s, i): hashed(encode(render(s, i, 256), "PNG")) for s in STYLES for i in range(5)}
    nearest = min(distance(a[0], b[0]) for a, b in itertools.combinations(hashes.values(), 2))
    assert nearest > 2 * THRESHOLD, nearest  # a wide margin, not just past the threshold


def test_flat_images_get_no_hash_and_so_never_match() -> None:
    for img in (Image.new("RGB", (300, 200), (200, 30, 30)), Image.new("L", (64, 64), 7),
                Image.new("RGBA", (64, 64), (0, 0, 0, 0))):
        assert process_upload(encode(img, "PNG"), LIMITS).perceptual is None


def test_only_uploads_are_hashed() -> None:
    assert process_exact(encode(render("dots", 1, 64), "PNG"), LIMITS).perceptual is None


def test_exif_orientation_does_not_change_the_hash() -> None:
    """The hash is taken from the upright thumbnail: a rotated file tagged to display upright matches."""
    upright = render("stripes", 3, 320)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    rotated = encode(upright.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=90, exif=exif.tobytes())
    assert distance(hashed(encode(upright, "PNG"))[0], hashed(rotated)[0]) <= THRESHOLD


def test_distance_and_chunks() -> None:
    assert distance(0, -1) == 64 and distance(5, 6) == 2 and distance(-(1 << 63), 0) == 1
    keys = chunk_keys(-1)
    assert len(keys) == CHUNKS and keys == [i * 65536 + 65535 for i in range(CHUNKS)]
    base = perceptual_hash(render("blobs", 2, 128))
    assert base is not None
    # The pigeonhole the index relies on: any INDEXED_MAX_DISTANCE flipped bits are found by the probes,
    # here spread worst-case (two per chunk but one), and bunched into one chunk.
    rng = random.Random(3)
    spreads = [[c * 16 + b for c in range(CHUNKS) for b in (0, 9)][:INDEXED_MAX_DISTANCE], list(range(7))]
    spreads += [rng.sample(range(64), INDEXED_MAX_DISTANCE) for _ in range(300)]
    for bits in spreads:
        flipped = base.phash ^ sum(1 << b for b in bits)
        assert set(probe_keys(flipped)) & set(base.chunk_keys), bits
    # ... and 8 bits, two in each chunk, are past what the probes promise (the scan handles those).
    two_each = base.phash ^ sum(1 << (c * 16 + b) for c in range(CHUNKS) for b in (0, 9))
    assert not set(probe_keys(two_each)) & set(base.chunk_keys)
