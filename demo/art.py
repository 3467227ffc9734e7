"""Deterministic procedural art: the demo's "artists" and the trainer's test data.

Each style has its own palette and its own kind of structure, so a model trained on one style is
measurably different (SWD) from another. `render(style, seed, size)` depends on nothing but its
arguments: the same call gives the same pixels on every run and machine.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

Palette = list[tuple[int, int, int]]

# Characteristic palettes: background first, then the colours the marks are drawn in.
PALETTES: dict[str, Palette] = {
    "geometric": [(240, 234, 218), (206, 36, 39), (245, 190, 30), (28, 64, 160), (20, 20, 24)],
    "dots": [(178, 208, 232), (86, 140, 70), (60, 110, 190), (232, 120, 150), (250, 200, 80)],
    "stripes": [(12, 40, 64), (0, 150, 150), (240, 130, 40), (245, 235, 210), (200, 60, 50)],
    "blobs": [(14, 8, 32), (200, 40, 200), (40, 200, 230), (120, 60, 240), (255, 110, 160)],
    "waves": [(230, 244, 240), (0, 90, 110), (60, 170, 160), (250, 160, 100), (30, 40, 80)],
}


def _rng(style: str, seed: int) -> np.random.Generator:
    # crc32 (not hash()) because Python salts str hashes per process.
    return np.random.default_rng([zlib.crc32(style.encode()), seed & 0xFFFFFFFF])


def _jitter(rng: np.random.Generator, colour: tuple[int, int, int], amount: int = 12) -> tuple[int, ...]:
    shifted = np.clip(np.array(colour) + rng.integers(-amount, amount + 1, 3), 0, 255)
    return tuple(int(v) for v in shifted)


def _geometric(rng: np.random.Generator, size: int, palette: Palette) -> Image.Image:
    img = Image.new("RGB", (size, size), palette[0])
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(6, 12))):
        colour = _jitter(rng, palette[int(rng.integers(1, len(palette)))])
        cx, cy = rng.uniform(0, size, 2)
        r = rng.uniform(0.08, 0.3) * size
        kind = int(rng.integers(0, 3))
        if kind == 0:
            w, h = r * rng.uniform(0.5, 1.5), r * rng.uniform(0.5, 1.5)
            draw.rectangle((cx - w, cy - h, cx + w, cy + h), fill=colour)
        elif kind == 1:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
        else:
            angles = rng.uniform(0, 2 * np.pi) + np.array([0.0, 2.1, 4.2])
            points = [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in angles]
            draw.polygon([(float(x), float(y)) for x, y in points], fill=colour)
    return img


def _dots(rng: np.random.Generator, size: int, palette: Palette) -> Image.Image:
    img = Image.new("RGB", (size, size), palette[0])
    draw = ImageDraw.Draw(img)
    # A few soft colour regions decide which colour a dot takes, like a pointillist's underpainting.
    centres = rng.uniform(0, size, (4, 2))
    region_colour = rng.integers(1, len(palette), 4)
    n = int(size * size / 40)
    xy = rng.uniform(0, size, (n, 2))
    nearest = np.argmin(((xy[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    use_region = rng.random(n) < 0.75
    colours = np.where(use_region, region_colour[nearest], rng.integers(1, len(palette), n))
    radius = rng.uniform(0.008, 0.02, n) * size + 0.6
    for (x, y), c, r in zip(xy, colours, radius, strict=True):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=_jitter(rng, palette[int(c)], 18))
    return img


def _stripes(rng: np.random.Generator, size: int, palette: Palette) -> Image.Image:
    angle = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    along = xx * np.cos(angle) + yy * np.sin(angle)
    across = -xx * np.sin(angle) + yy * np.cos(angle)
    # Hand-drawn wobble: the band edges bend slowly along the stripe direction.
    wobble = 0.015 * np.sin(across * rng.uniform(8, 20) + rng.uniform(0, 6.3))
    band = np.floor((along + wobble) * rng.uniform(6, 14)).astype(np.int64)
    order = rng.integers(1, len(palette), 64)
    colours = np.array(palette, dtype=np.float32)[order[band % 64]]
    grain = rng.normal(0, 6, (size, size, 1)).astype(np.float32)
    return Image.fromarray(np.clip(colours + grain, 0, 255).astype(np.uint8), "RGB")


def _blobs(rng: np.random.Generator, size: int, palette: Palette) -> Image.Image:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    canvas = np.tile(np.array(palette[0], dtype=np.float32), (size, size, 1))
    for _ in range(int(rng.integers(4, 9))):
        cx, cy = rng.uniform(0.05, 0.95, 2)
        sigma = rng.uniform(0.06, 0.2)
        weight = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))[..., None]
        colour = np.array(palette[int(rng.integers(1, len(palette)))], dtype=np.float32)
        canvas = canvas * (1 - 0.85 * weight) + colour * 0.85 * weight
    return Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8), "RGB")


def _waves(rng: np.random.Generator, size: int, palette: Palette) -> Image.Image:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    field = np.zeros((size, size), np.float32)
    for _ in range(3):
        k = rng.uniform(3, 9, 2) * rng.choice([-1, 1], 2)
        field += np.sin(2 * np.pi * (k[0] * xx + k[1] * yy) + rng.uniform(0, 6.3))
    # Contour bands of the summed waves: smooth, curving iso-lines.
    level = np.floor((field + 3) / 6 * 7).astype(np.int64)
    order = rng.permutation(np.arange(len(palette)))
    colours = np.array(palette, dtype=np.float32)[order[level % len(palette)]]
    return Image.fromarray(colours.astype(np.uint8), "RGB")


_RENDERERS: dict[str, Callable[[np.random.Generator, int, Palette], Image.Image]] = {
    "geometric": _geometric,
    "dots": _dots,
    "stripes": _stripes,
    "blobs": _blobs,
    "waves": _waves,
}
STYLES: tuple[str, ...] = tuple(_RENDERERS)


def render(style: str, seed: int, size: int = 256) -> Image.Image:
    """Render one RGB image of `style`; identical pixels for identical arguments."""
    if style not in _RENDERERS:
        raise ValueError(f"unknown style {style!r}; choose one of {', '.join(STYLES)}")
    if not 8 <= size <= 4096:
        raise ValueError("size must be between 8 and 4096 pixels")
    return _RENDERERS[style](_rng(style, seed), size, PALETTES[style])


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
