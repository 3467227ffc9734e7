import io

import numpy as np
import pytest
import torch
from PIL import Image

from services.trainer.dataset import DatasetError, ImageDataset, augment_batch, dataset_sha256, load_image


def _encode(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def _banded(width: int, height: int) -> Image.Image:
    """Red outer bands on the long sides, green in the middle: a centre crop keeps only green."""
    arr = np.zeros((height, width, 3), np.uint8)
    arr[:, :] = (0, 200, 0)
    if width > height:
        band = (width - height) // 2
        arr[:, :band] = arr[:, width - band:] = (255, 0, 0)
    return Image.fromarray(arr)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_wide_image_is_resized_and_centre_cropped(fmt: str) -> None:
    pixels = load_image(_encode(_banded(300, 100), fmt), 32)
    assert pixels.shape == (32, 32, 3)
    # Only the green middle survives (JPEG/WebP blur the edge by a pixel or so).
    inner = pixels[:, 2:-2].astype(int)
    assert (inner[..., 0] < 60).all() and (inner[..., 1] > 150).all()


def test_transparent_pixels_become_white_and_grey_becomes_rgb() -> None:
    rgba = Image.new("RGBA", (40, 40), (10, 20, 30, 0))
    assert (load_image(_encode(rgba, "PNG"), 32) == 255).all()
    grey = load_image(_encode(Image.new("L", (64, 64), 128), "PNG"), 32)
    assert grey.shape == (32, 32, 3) and (grey == 128).all()


def test_tensors_are_normalised_to_minus_one_one() -> None:
    black, white = Image.new("RGB", (32, 32), 0), Image.new("RGB", (32, 32), (255, 255, 255))
    ds = ImageDataset([_encode(black, "PNG"), _encode(white, "PNG")], 32)
    assert ds.tensors.shape == (2, 3, 32, 32)
    assert ds.tensors[0].eq(-1).all() and ds.tensors[1].eq(1).all()


def test_augmentation_switches_on_for_small_datasets_unless_told(geometric_images: list[bytes]) -> None:
    assert ImageDataset(geometric_images, 32).augment is True
    assert ImageDataset(geometric_images, 32, augment=False).augment is False
    many = geometric_images * 4  # 64 images
    assert ImageDataset(many, 32).augment is False
    assert ImageDataset(many, 32, augment=True).augment is True


def test_augmented_batches_vary_but_stay_close_to_the_data(geometric_images: list[bytes]) -> None:
    ds = ImageDataset(geometric_images[:1], 32, augment=True)
    batch = ds.batch(16, torch.Generator().manual_seed(0))
    assert batch.shape == (16, 3, 32, 32) and batch.min() >= -1 and batch.max() <= 1
    assert not torch.equal(batch[0], batch[1]) or not torch.equal(batch[1], batch[2])
    # Mild: the colour palette survives (mean colour within a few percent).
    assert (batch.mean(dim=(0, 2, 3)) - ds.tensors[0].mean(dim=(1, 2))).abs().max() < 0.1
    plain = ImageDataset(geometric_images[:1], 32, augment=False).batch(4, torch.Generator().manual_seed(0))
    assert all(torch.equal(img, ds.tensors[0]) for img in plain)


def test_augmentation_is_reproducible_from_the_generator_state() -> None:
    x = torch.rand(8, 3, 32, 32) * 2 - 1
    a = augment_batch(x, torch.Generator().manual_seed(3))
    b = augment_batch(x, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_dataset_hash_ignores_order_but_not_content(geometric_images: list[bytes]) -> None:
    h = dataset_sha256(geometric_images)
    assert h == dataset_sha256(list(reversed(geometric_images)))
    assert h != dataset_sha256(geometric_images[:-1])
    assert ImageDataset(geometric_images, 32).sha256 == h


def test_undecodable_or_empty_input_is_a_dataset_error() -> None:
    with pytest.raises(DatasetError):
        ImageDataset([b"not an image"], 32)
    with pytest.raises(DatasetError):
        ImageDataset([], 32)
