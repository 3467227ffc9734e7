"""Training images -> one tensor in [-1, 1], plus batch sampling with light augmentation.

Images are decoded once (Pillow), resized so the shorter side equals image_size, centre-cropped,
and kept in memory: datasets are an artist's consented works, tens to hundreds of images.
Augmentation runs on whole batches with torch ops (no torchvision on these machines).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image, UnidentifiedImageError

# Below this many images a model memorises quickly: augmentation switches on (for the fewshot GAN
# recipe that means DiffAugment inside the discriminator step instead of `augment_batch`).
AUTO_AUGMENT_BELOW = 64
MAX_DECODED_PIXELS = 40_000_000  # a decompression bomb is refused, not decoded


class DatasetError(ValueError):
    """An input image could not be used (not an image, unsupported, too large)."""


def dataset_sha256(images: Sequence[bytes]) -> str:
    """Identity of a dataset independent of input order: sha256 over the sorted image hashes."""
    digest = hashlib.sha256()
    for h in sorted(hashlib.sha256(b).hexdigest() for b in images):
        digest.update(h.encode())
    return digest.hexdigest()


def load_image(data: bytes, image_size: int) -> npt.NDArray[np.uint8]:
    """Decode PNG/JPEG/WebP bytes -> uint8 [S, S, 3]: RGB, shorter side resized, centre crop."""
    try:
        img: Image.Image = Image.open(io.BytesIO(data))
        if img.width * img.height > MAX_DECODED_PIXELS:
            raise DatasetError(f"image too large ({img.width}x{img.height})")
        img.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise DatasetError(f"cannot decode image: {exc}") from exc
    if img.mode in ("RGBA", "LA", "P"):
        # Transparent areas become white, as the work is shown on the platform.
        rgba = img.convert("RGBA")
        img = Image.new("RGB", rgba.size, (255, 255, 255))
        img.paste(rgba, mask=rgba.getchannel("A"))
    img = img.convert("RGB")
    scale = image_size / min(img.size)
    w, h = max(image_size, round(img.width * scale)), max(image_size, round(img.height * scale))
    img = img.resize((w, h), Image.Resampling.LANCZOS, reducing_gap=3.0)
    left, top = (w - image_size) // 2, (h - image_size) // 2
    return np.asarray(img.crop((left, top, left + image_size, top + image_size)), dtype=np.uint8)


class ImageDataset:
    """All images as a float tensor [N, 3, S, S] in [-1, 1]; `batch()` draws augmented batches."""

    def __init__(self, images: Sequence[bytes], image_size: int, augment: bool | None = None,
                 weights: Sequence[float] | None = None):
        if not images:
            raise DatasetError("the dataset is empty")
        if weights is not None and (len(weights) != len(images) or min(weights) <= 0):
            raise DatasetError("one positive weight per image is needed")
        # How often each image is drawn relative to the others (None: all alike).
        self.weights = None if weights is None or len(set(weights)) == 1 else torch.tensor(weights, dtype=torch.float64)
        arrays = np.stack([load_image(b, image_size) for b in images])
        self.tensors = torch.from_numpy(arrays).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
        self.image_size = image_size
        self.augment = len(images) < AUTO_AUGMENT_BELOW if augment is None else augment
        self.sha256 = dataset_sha256(images)
        self.image_hashes = [hashlib.sha256(b).hexdigest() for b in images]  # for the held-out split

    def __len__(self) -> int:
        return self.tensors.shape[0]

    def batch(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """Indices drawn with replacement, so a batch may be larger than the dataset."""
        if self.weights is not None:
            idx = torch.multinomial(self.weights, batch_size, replacement=True, generator=generator)
        else:
            idx = torch.randint(len(self), (batch_size,), generator=generator)
        x = self.tensors[idx]
        return augment_batch(x, generator) if self.augment else x


def augment_batch(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flip, shift by up to 1/16 of the size (reflect-padded crop), mild colour jitter."""
    n, _, s, _ = x.shape
    flip = torch.rand(n, generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)

    pad = max(1, s // 16)
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad), mode="reflect")
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    ar = torch.arange(s)
    rows = (oy[:, None] + ar)[:, None, :, None]
    cols = (ox[:, None] + ar)[:, None, None, :]
    x = padded[torch.arange(n)[:, None, None, None], torch.arange(3)[None, :, None, None], rows, cols]

    # Brightness, contrast and saturation within +-10%, in [0, 1] space.
    b, c, sat = (1.0 + (torch.rand(3, n, 1, 1, 1, generator=generator) - 0.5) * 0.2).unbind(0)
    x01 = (x + 1.0) * 0.5 * b
    mean = x01.mean(dim=(1, 2, 3), keepdim=True)
    x01 = (x01 - mean) * c + mean
    grey = (x01 * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    x01 = (x01 - grey) * sat + grey
    return x01.clamp_(0.0, 1.0).mul_(2.0).sub_(1.0)
