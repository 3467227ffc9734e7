"""Invisible watermark: survives re-encoding, invisible, silent on unmarked images."""

import io

import numpy as np
import pytest
from PIL import Image

from services.inference import png_codec, watermark


def _image(seed: int, size: int = 128) -> np.ndarray:
    # Smooth random colour fields plus fine noise: close to what a small generator produces.
    rng = np.random.default_rng(seed)
    coarse = rng.standard_normal((size // 16, size // 16, 3))
    img = Image.fromarray(((np.tanh(coarse) + 1) * 127.5).astype(np.uint8)).resize((size, size), Image.BICUBIC)
    noisy = np.asarray(img, dtype=np.float64) + rng.normal(0, 6, (size, size, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def test_payload_survives_png_reencoding_and_is_invisible() -> None:
    for seed in range(12):
        payload = int(np.random.default_rng(seed).integers(0, 2**32))
        original = _image(seed)
        marked = watermark.embed(png_codec.encode_png(original), payload)
        assert isinstance(marked, bytes)
        assert watermark.extract(png_codec.strip_metadata(marked)) == payload
        diff = png_codec.decode_image(marked).astype(np.float64) - original
        psnr = 10 * np.log10(255**2 / np.mean(diff**2))
        assert psnr > 38


def test_payload_mostly_survives_jpeg_85() -> None:
    found = 0
    for seed in range(20):
        payload = 0xA5A5_0000 + seed
        marked = watermark.embed(_image(100 + seed), payload)
        buf = io.BytesIO()
        Image.fromarray(marked).save(buf, "JPEG", quality=85)
        found += watermark.extract(buf.getvalue()) == payload
    assert found >= 16  # measured ≈ 94%


def test_unmarked_images_give_none() -> None:
    rng = np.random.default_rng(7)
    candidates = [_image(1000 + i) for i in range(150)]
    candidates += [rng.integers(0, 256, (128, 128, 3), dtype=np.uint8) for _ in range(40)]
    candidates += [np.full((128, 160, 3), v, dtype=np.uint8) for v in (0, 1, 77, 128, 254, 255)]
    assert [watermark.extract(c) for c in candidates] == [None] * len(candidates)


def test_short_id_comes_from_the_ulid_and_small_images_are_refused() -> None:
    a = watermark.short_id("01J9ZC8Q4W6V3N2M1K0H9G8F7E")
    b = watermark.short_id("01J9ZC8Q4W6V3N2M1K0H9G8F7F")
    assert 0 <= a < 2**32 and b == a + 1
    assert watermark.format_short_id(a) == f"{a:08x}"
    assert not watermark.can_embed(127, 512)
    with pytest.raises(watermark.WatermarkError):
        watermark.embed(_image(0, size=64), 1)
    with pytest.raises(watermark.WatermarkError):
        watermark.embed(_image(0), 2**32)
    assert watermark.extract(_image(0, size=64)) is None
