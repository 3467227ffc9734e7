"""Content checks, metadata stripping, thumbnails and palettes on real images (no I/O)."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from demo.art import PALETTES, render
from services.assets.image_pipeline import Limits, process_exact, process_upload
from services.assets.metadata import strip_metadata
from shared.errors import Unprocessable, UnsupportedMediaType

LIMITS = Limits(max_pixels=40_000_000, thumbnail_size=256)
GPS_IFD = 0x8825


def exif_with_gps(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    if orientation != 1:
        exif[0x0112] = orientation
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    return exif.tobytes()


def encode(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGBA"))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_gps_exif_is_stripped_and_pixels_stay_identical(fmt: str) -> None:
    extra = {} if fmt == "PNG" else {"quality": 90}
    original = encode(render("geometric", 7, 200), fmt, exif=exif_with_gps(), **extra)
    assert b"PhoneMaker" in original
    result = process_upload(original, LIMITS)
    assert b"PhoneMaker" not in result.data
    with Image.open(io.BytesIO(result.data)) as img:
        assert GPS_IFD not in img.getexif()
    assert np.array_equal(pixels(result.data), pixels(original))
    assert result.changed and result.size < len(original)
    assert result.content_type == f"image/{fmt.lower()}"
    assert (result.width, result.height) == (200, 200)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_orientation_survives_as_the_only_exif_tag(fmt: str) -> None:
    original = encode(render("stripes", 1, 120).crop((0, 0, 120, 60)), fmt, exif=exif_with_gps(orientation=6))
    result = process_upload(original, LIMITS)
    with Image.open(io.BytesIO(result.data)) as img:
        assert dict(img.getexif()) == {0x0112: 6}
    assert result.orientation == 6
    assert np.array_equal(pixels(result.data), pixels(original))
    with Image.open(io.BytesIO(result.thumbnail)) as thumb:  # thumbnails are shown upright
        assert thumb.width < thumb.height


def test_png_text_chunks_go_but_colour_chunks_stay() -> None:
    info = PngInfo()
    info.add_text("Comment", "taken at home")
    info.add_itxt("parameters", "secret prompt")
    img = render("dots", 2, 64)
    original = encode(img, "PNG", pnginfo=info)
    gama = _png_chunk(b"gAMA", struct.pack(">I", 45455))
    original = original[:33] + gama + original[33:]  # right after IHDR
    result = strip_metadata(original)
    assert sorted(result.removed) == ["iTXt", "tEXt"]
    assert b"taken at home" not in result.data and b"secret prompt" not in result.data
    assert b"gAMA" in result.data  # changes how pixels look: kept


def _png_chunk(ctype: bytes, data: bytes) -> bytes:
    body = ctype + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def test_clean_png_is_stored_byte_for_byte() -> None:
    original = encode(render("waves", 3, 96), "PNG")
    result = process_upload(original, LIMITS)
    assert result.data == original and not result.changed and result.removed_metadata == []


def test_progressive_jpeg_with_icc_profile_keeps_profile_and_pixels() -> None:
    icc = _srgb_profile()
    original = encode(render("blobs", 4, 160), "JPEG", progressive=True, icc_profile=icc, exif=exif_with_gps())
    result = process_upload(original, LIMITS)
    with Image.open(io.BytesIO(result.data)) as img:
        assert img.info.get("icc_profile") == icc
    assert np.array_equal(pixels(result.data), pixels(original))


def _srgb_profile() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize("payload", [
    b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
    b"<!doctype html><html><body>hi</body></html>",
    b"GIF89a" + b"\x00" * 64,
    b"BM" + b"\x00" * 64,
    b"",
])
def test_non_images_and_other_formats_are_415(payload: bytes) -> None:
    with pytest.raises(UnsupportedMediaType):
        process_upload(payload, LIMITS)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_truncated_files_are_422(fmt: str) -> None:
    original = encode(render("geometric", 5, 256), fmt)
    for cut in (len(original) // 2, len(original) - 3):
        with pytest.raises(Unprocessable):
            process_upload(original[:cut], LIMITS)


@pytest.mark.parametrize("fmt, tail", [
    ("PNG", b"PK\x03\x04" + b"zip archive" * 10),
    ("JPEG", b"<html><script>alert(1)</script></html>"),
    ("WEBP", b"<?php echo 1; ?>"),
])
def test_polyglots_with_data_after_the_image_are_422(fmt: str, tail: bytes) -> None:
    original = encode(render("dots", 1, 64), fmt)
    with pytest.raises(Unprocessable, match="polyglot"):
        process_upload(original + tail, LIMITS)


def test_markup_hidden_in_metadata_is_422() -> None:
    info = PngInfo()
    info.add_text("Comment", "<script>document.location='https://evil'</script>")
    with pytest.raises(Unprocessable, match="polyglot"):
        process_upload(encode(render("dots", 1, 64), "PNG", pnginfo=info), LIMITS)


def test_decompression_bomb_is_refused_before_decoding() -> None:
    # 10000 x 10000 greyscale zeros compress to ~100 KB but would decode to 100 MB.
    bomb = encode(Image.new("L", (10_000, 10_000)), "PNG", optimize=False)
    assert len(bomb) < 1_000_000
    started = time.perf_counter()
    with pytest.raises(Unprocessable, match="too many pixels"):
        process_upload(bomb, LIMITS)
    assert time.perf_counter() - started < 0.5


def test_exact_bytes_are_kept_for_generated_images() -> None:
    original = encode(render("waves", 9, 64), "PNG")
    signed = original[:-12] + _png_chunk(b"caBX", b"c2pa manifest store") + original[-12:]
    result = process_exact(signed, LIMITS)
    assert result.data == signed and not result.changed


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "I;16", "CMYK", "LA"])
def test_thumbnails_of_any_mode_fit_the_box(mode: str) -> None:
    img = render("geometric", 2, 600).resize((600, 300))
    img = img.convert("L").convert("I;16") if mode == "I;16" else img.convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    result = process_upload(encode(img, fmt), LIMITS)
    with Image.open(io.BytesIO(result.thumbnail)) as thumb:
        assert thumb.format == "WEBP" and thumb.size == (256, 128)


def _distance(hex_colour: str, rgb: tuple[int, int, int]) -> float:
    value = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return float(np.linalg.norm(np.subtract(value, rgb)))


@pytest.mark.parametrize("style", ["geometric", "dots", "waves"])
def test_palette_finds_the_artworks_own_colours(style: str) -> None:
    result = process_upload(encode(render(style, 11, 256), "PNG"), LIMITS)
    assert len(result.palette) == 5 and all(len(c) == 7 and c.startswith("#") for c in result.palette)
    # The most common colour is one of the style's paints, and most entries are near one.
    near = [min(_distance(c, p) for p in PALETTES[style]) for c in result.palette]
    assert near[0] < 30
    assert sum(d < 40 for d in near) >= 3


def test_palette_of_a_two_colour_image_repeats_the_dominant_one() -> None:
    img = Image.new("RGB", (100, 100), (255, 0, 0))
    img.paste((0, 0, 255), (0, 0, 30, 100))
    result = process_upload(encode(img, "PNG"), LIMITS)
    assert result.palette[:2] == ["#ff0000", "#0000ff"]
    assert result.palette[2:] == ["#ff0000"] * 3
