"""Sliced Wasserstein distance on Laplacian-pyramid patches (Karras et al. 2018, "Progressive
Growing of GANs", section 5 and appendix D), written from the paper's description.

Each image set is decomposed into a Laplacian pyramid down to 16 px. From every level, 7x7
neighbourhoods (147-d descriptors with 3 colour channels) are sampled, each channel normalised to
zero mean and unit std over the real set (the same affine map for both sets), and the distance
between the two descriptor sets is the sliced Wasserstein distance: project on random unit
directions, sort, mean absolute difference of the sorted projections. Small distances at fine
levels mean similar textures and edges, at the coarse level similar large-scale structure and
colour. Like the paper, values are reported x 1e3.
It needs no pretrained network, so it works offline.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

PATCH = 7
MIN_RESOLUTION = 16

_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
_GAUSS = (_BINOMIAL[:, None] * _BINOMIAL[None, :]).expand(3, 1, 5, 5).contiguous()


def _blur(x: torch.Tensor) -> torch.Tensor:
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), _GAUSS.to(x), groups=3)


def _downsample(x: torch.Tensor) -> torch.Tensor:
    return _blur(x)[:, :, ::2, ::2]


def _upsample(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    up = x.new_zeros(n, c, h * 2, w * 2)
    up[:, :, ::2, ::2] = x
    return _blur(up) * 4.0  # zeros inserted: x4 restores the brightness the blur spreads out


def laplacian_pyramid(x: torch.Tensor) -> list[torch.Tensor]:
    """Band-pass levels from full resolution down to MIN_RESOLUTION; the last one is the low-pass."""
    levels = []
    while x.shape[-1] > MIN_RESOLUTION:
        small = _downsample(x)
        levels.append(x - _upsample(small))
        x = small
    levels.append(x)
    return levels


def _positions(count: int, level_size: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Where to cut patches: an image fraction in [0, 1) and top-left corners, shared by both sets."""
    frac = torch.rand(count, generator=generator)
    y = torch.randint(level_size - PATCH + 1, (count,), generator=generator)
    x = torch.randint(level_size - PATCH + 1, (count,), generator=generator)
    return frac, y, x


def _patches(level: torch.Tensor, frac: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """7x7x3 neighbourhoods of a pyramid level at the given positions, [M, 3, 7, 7]."""
    n, c = level.shape[:2]
    img = (frac * n).long().clamp_max(n - 1)
    ar = torch.arange(PATCH)
    return level[img[:, None, None, None], torch.arange(c)[None, :, None, None],
                 (y[:, None] + ar)[:, None, :, None], (x[:, None] + ar)[:, None, None, :]]


def _normalised(patches: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    return ((patches - mean) / std).reshape(len(patches), -1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, generator: torch.Generator,
                       projections: int = 512, repeats: int = 4) -> float:
    """SWD between two equally sized point sets [M, D], averaged over `repeats` sets of directions."""
    total = 0.0
    for _ in range(repeats):
        dirs = torch.randn(a.shape[1], projections, generator=generator)
        dirs /= dirs.norm(dim=0, keepdim=True)
        # numpy's vectorised sort is several times faster than torch's on CPU here.
        pa = np.sort((dirs.T @ a.T).numpy(), axis=1)
        pb = np.sort((dirs.T @ b.T).numpy(), axis=1)
        total += float(np.abs(pa - pb).mean())
    return total / repeats


@torch.no_grad()
def swd(real: torch.Tensor, fake: torch.Tensor, seed: int = 0, *, descriptors_per_level: int = 8192,
        projections: int = 512, repeats: int = 4) -> dict[str, Any]:
    """SWD x 1e3 per pyramid level (finest first) and their average, for two image sets [N, 3, S, S].

    The sets may hold different numbers of images: the same number of descriptors is sampled
    from each, with replacement. Both sets are cut at the same random positions (common random
    numbers), which removes most sampling noise: identical sets give exactly 0.
    """
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"image shapes differ: {tuple(real.shape[1:])} vs {tuple(fake.shape[1:])}")
    if real.shape[-1] < MIN_RESOLUTION or real.shape[-1] != real.shape[-2]:
        raise ValueError(f"images must be square and at least {MIN_RESOLUTION} px")
    generator = torch.Generator().manual_seed(seed)
    real_levels = laplacian_pyramid(real.detach().float().cpu())
    fake_levels = laplacian_pyramid(fake.detach().float().cpu())
    per_level = []
    for lr, lf in zip(real_levels, fake_levels, strict=True):
        where = _positions(descriptors_per_level, lr.shape[-1], generator)
        pa, pb = _patches(lr, *where), _patches(lf, *where)
        # Both sets are normalised with the REAL set's per-channel statistics: with per-set
        # statistics a nearly constant generated set (an untrained model whose outputs snap to one
        # palette colour) is divided by a near-zero std and its distance explodes.
        mean = pa.mean(dim=(0, 2, 3), keepdim=True)
        std = pa.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-8)
        da, db = _normalised(pa, mean, std), _normalised(pb, mean, std)
        per_level.append(1e3 * sliced_wasserstein(da, db, generator, projections, repeats))
    return {
        "per_level": per_level,
        "resolutions": [lv.shape[-1] for lv in real_levels],
        "avg": sum(per_level) / len(per_level),
    }
