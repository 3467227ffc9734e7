import pytest
import torch

from services.trainer.dataset import ImageDataset
from services.trainer.swd import laplacian_pyramid, swd
from tests.unit.trainer.conftest import style_images


def _tensors(style: str, count: int, first_seed: int = 0, size: int = 32) -> torch.Tensor:
    return ImageDataset(style_images(style, count, 64, first_seed), size, augment=False).tensors


def test_pyramid_goes_down_to_16px_and_reconstructs_the_image() -> None:
    x = torch.rand(2, 3, 64, 64)
    levels = laplacian_pyramid(x)
    assert [lv.shape[-1] for lv in levels] == [64, 32, 16]
    from services.trainer.swd import _upsample

    rebuilt = levels[-1]
    for band in reversed(levels[:-1]):
        rebuilt = band + _upsample(rebuilt)
    assert torch.allclose(rebuilt, x, atol=1e-5)


FAST = {"descriptors_per_level": 1024, "projections": 128}  # enough to tell styles apart, in seconds


def test_identical_sets_have_zero_distance() -> None:
    x = _tensors("geometric", 8)
    result = swd(x, x.clone(), seed=0, **FAST)
    assert result["avg"] == 0 and result["per_level"] == [0, 0] and result["resolutions"] == [32, 16]


def test_same_style_is_closer_than_other_styles() -> None:
    geometric = _tensors("geometric", 16)
    other_geometric = swd(geometric, _tensors("geometric", 32, first_seed=100), seed=1, **FAST)["avg"]
    for style in ("dots", "stripes", "blobs"):
        assert swd(geometric, _tensors(style, 32), seed=1, **FAST)["avg"] > 1.5 * other_geometric, style


def test_a_nearly_constant_set_is_far_but_not_infinitely_far() -> None:
    # Normalised with the real set's statistics: one odd pixel in a flat grey set (an untrained
    # model snapped to one palette colour) must not divide by a near-zero spread and explode.
    real = _tensors("geometric", 8)
    flat = torch.zeros(8, 3, 32, 32)
    odd = flat.clone()
    odd[0, :, 5, 5] = 1.0
    d_flat, d_odd = swd(real, flat, seed=2, **FAST)["avg"], swd(real, odd, seed=2, **FAST)["avg"]
    assert d_flat > swd(real, _tensors("geometric", 8, first_seed=50), seed=2, **FAST)["avg"]
    assert d_odd < 1.1 * d_flat


def test_distance_is_reproducible_by_seed_and_checks_shapes() -> None:
    a, b = _tensors("geometric", 4), _tensors("dots", 4)
    assert swd(a, b, seed=3, **FAST) == swd(a, b, seed=3, **FAST)
    with pytest.raises(ValueError):
        swd(a, torch.zeros(4, 3, 64, 64))
