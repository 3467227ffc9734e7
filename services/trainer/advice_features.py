"""One small feature vector and a perceptual hash per training image, for the training-set advice.

The vector is what a style model is sensitive to at the sizes it trains on (32-64 px), computed in
CIE Lab so that distances follow perceived colour differences:

- layout: the image centre-cropped to a square like the training data, shrunk to 8x8 Lab cells
  (L/100, a/100, b/100), 192 numbers; their Euclidean distance divided by sqrt(192) is the RMS
  colour difference of the two images' coarse compositions;
- palette: a joint Lab histogram of 4x4x4 bins over the 64x64 crop (each pixel shared linearly
  between neighbouring bins); its square root (Hellinger
  embedding) divided by sqrt(2), so two images sharing no colour are 1 apart.

The two halves are concatenated, so a distance mixes "arranged differently" and "painted in other
colours" on comparable 0..1 scales. The model's own encoder is not used: a DCGAN has none, a VAE's
would need torch in the service process and a trained version, and advice is wanted before training.
The pHash (imagehash, 64 bits, the assets service's near-duplicate hash) is taken on the grey crop.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import imagehash
import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

CROP = 64  # working size of the crop
CELLS = 8  # layout grid
BINS = 4  # histogram bins per Lab axis
PALETTE_GRID = 16  # the histogram counts 16x16 cells' mean colours: blending at edges counts alike in any copy
MAX_DECODED_PIXELS = 40_000_000  # as services/trainer/dataset.py: a decompression bomb is refused
FLAT_STDDEV = 2.0  # a grey crop this flat has no meaningful pHash
LAYOUT_DIMS = CELLS * CELLS * 3
LAYOUT_WEIGHT = 0.5
LAB_LOW, LAB_HIGH = np.array([0.0, -100.0, -100.0]), np.array([100.0, 100.0, 100.0])
Vector = npt.NDArray[np.float64]


class FeatureError(ValueError):
    """The bytes are not an image this platform can read."""


@dataclass(frozen=True)
class ImageFeatures:
    vector: Vector
    phash: int | None  # None for a flat image


def _decode(data: bytes) -> Image.Image:
    try:
        img: Image.Image = Image.open(io.BytesIO(data))
        if img.width * img.height > MAX_DECODED_PIXELS:
            raise FeatureError(f"image too large ({img.width}x{img.height})")
        img.draft("RGB", (CROP * 2, CROP * 2))  # JPEG: decode at a reduced scale
        img.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise FeatureError(f"cannot decode image: {exc}") from exc
    if img.mode in ("RGBA", "LA", "P"):  # transparency on white, as the training data
        rgba = img.convert("RGBA")
        img = Image.new("RGB", rgba.size, (255, 255, 255))
        img.paste(rgba, mask=rgba.getchannel("A"))
    return img.convert("RGB")


def square_crop(img: Image.Image, size: int = CROP) -> Image.Image:
    """Shorter side resized to `size`, centre crop: what the trainer feeds its models."""
    scale = size / min(img.size)
    w, h = max(size, round(img.width * scale)), max(size, round(img.height * scale))
    img = img.resize((w, h), Image.Resampling.LANCZOS, reducing_gap=3.0)
    left, top = (w - size) // 2, (h - size) // 2
    return img.crop((left, top, left + size, top + size))


def srgb_to_lab(rgb: npt.NDArray[np.uint8]) -> Vector:
    """uint8 sRGB [..., 3] -> CIE Lab (D65) [..., 3]."""
    c = rgb.astype(np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = linear @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def soft_bins(x: Vector) -> Vector:
    """Each value in [0, 1] shared between its two nearest of BINS bin centres (linear weights), so a
    slight shift of colour moves a little weight, never a whole pixel, across a bin edge."""
    pos = np.clip(x * BINS - 0.5, 0.0, BINS - 1.0)
    centres = np.arange(BINS, dtype=np.float64)
    return np.clip(1.0 - np.abs(pos[:, None] - centres[None, :]), 0.0, None)  # type: ignore[no-any-return]


def lab_features(lab: Vector) -> Vector:
    """Layout cells and palette histogram of a [CROP, CROP, 3] Lab image (see the module doc)."""
    block = CROP // CELLS
    cells = lab.reshape(CELLS, block, CELLS, block, 3).mean(axis=(1, 3)) / 100.0
    layout = cells.ravel() / np.sqrt(LAYOUT_DIMS) * LAYOUT_WEIGHT
    smooth = lab.reshape(PALETTE_GRID, CROP // PALETTE_GRID, PALETTE_GRID, CROP // PALETTE_GRID, 3).mean(axis=(1, 3))
    unit = (smooth.reshape(-1, 3) - LAB_LOW) / (LAB_HIGH - LAB_LOW)
    w = [soft_bins(unit[:, axis]) for axis in range(3)]
    hist = np.einsum("pi,pj,pk->ijk", *w).ravel()
    palette = np.sqrt(hist / hist.sum()) / np.sqrt(2.0)
    return np.concatenate([layout, palette])


def image_features(data: bytes) -> ImageFeatures:
    """Decode image bytes and compute their features (CPU work: call it off the event loop)."""
    crop = square_crop(_decode(data))
    lab = srgb_to_lab(np.asarray(crop, dtype=np.uint8))
    grey = crop.convert("L")
    flat = float(np.asarray(grey, dtype=np.float64).std()) < FLAT_STDDEV
    phash = None if flat else int(str(imagehash.phash(grey)), 16)
    return ImageFeatures(vector=lab_features(lab), phash=phash)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()
