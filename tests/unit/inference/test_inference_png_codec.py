"""PNG encoding of generator output: deterministic, exact mapping of [-1, 1] to pixels."""

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from services.inference import png_codec


def _batch(seed: int = 0, n: int = 3, size: int = 32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.tanh(rng.standard_normal((n, 3, size, size))).astype(np.float32)


def test_same_tensor_gives_identical_png_bytes() -> None:
    first = png_codec.images_to_png(_batch())
    second = png_codec.images_to_png(_batch().copy())
    assert first == second
    assert len(set(first)) == 3  # different images, different bytes
    assert png_codec.images_to_png(_batch(seed=1)) != first


def test_png_has_no_metadata_chunks_and_round_trips_pixels() -> None:
    images = _batch(n=1, size=16)
    png = png_codec.images_to_png(images)[0]
    chunks = []
    pos = 8
    while pos < len(png):
        length = int.from_bytes(png[pos : pos + 4], "big")
        chunks.append(png[pos + 4 : pos + 8].decode())
        assert zlib.crc32(png[pos + 4 : pos + 8 + length]) == int.from_bytes(
            png[pos + 8 + length : pos + 12 + length], "big"
        )
        pos += 12 + length
    assert chunks == ["IHDR", "IDAT", "IEND"]
    pixels = png_codec.decode_image(png)
    assert pixels.shape == (16, 16, 3)
    assert np.array_equal(pixels, png_codec.to_uint8(images)[0])
    with Image.open(io.BytesIO(png)) as img:
        assert img.mode == "RGB" and not img.info


def test_value_range_maps_to_full_pixel_range_and_clips() -> None:
    x = np.zeros((1, 3, 2, 2), dtype=np.float32)
    x[0, :, 0, 0] = -1.0
    x[0, :, 0, 1] = 1.0
    x[0, :, 1, 0] = 5.0  # out of range: clipped
    x[0, :, 1, 1] = np.nan  # broken output: mid-grey, never an exception
    px = png_codec.to_uint8(x)[0]
    assert px[0, 0].tolist() == [0, 0, 0]
    assert px[0, 1].tolist() == [255, 255, 255]
    assert px[1, 0].tolist() == [255, 255, 255]
    assert px[1, 1].tolist() == [128, 128, 128]


def test_strip_metadata_keeps_pixels_and_drops_extra_chunks() -> None:
    pixels = png_codec.to_uint8(_batch(n=1))[0]
    buf = io.BytesIO()
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "made by someone")
    Image.fromarray(pixels).save(buf, format="PNG", pnginfo=info)
    stripped = png_codec.strip_metadata(buf.getvalue())
    assert b"made by someone" in buf.getvalue() and b"made by someone" not in stripped
    assert np.array_equal(png_codec.decode_image(stripped), pixels)


def test_bad_input_raises_clear_errors() -> None:
    with pytest.raises(ValueError):
        png_codec.to_uint8(np.zeros((2, 1, 8, 8), dtype=np.float32))
    with pytest.raises(png_codec.ImageDecodeError):
        png_codec.decode_image(b"not an image at all")


def test_image_size_reads_the_header() -> None:
    png = png_codec.images_to_png(_batch(n=1, size=24))[0]
    assert png_codec.image_size(png) == (24, 24)
    with pytest.raises(png_codec.ImageDecodeError):
        png_codec.image_size(b"\x89PNG but broken")
