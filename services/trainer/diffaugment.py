"""Differentiable augmentation (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient
GAN Training"), written from the paper's description.

The same random colour, translation and cutout transforms are applied to real AND generated images
inside the discriminator step (and to generated images in the generator step), with gradients
flowing through them. The discriminator never sees an un-augmented image, so it cannot memorise the
few real works, and because both sides are transformed alike the generator is not pushed to produce
augmented-looking images (which is what happens when only the real set is enlarged).

All randomness comes from the `generator` argument: a checkpointed RNG keeps runs reproducible.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

POLICIES = ("color", "translation", "cutout")


def _uniform(n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(n, 1, 1, 1, generator=generator).to(device)


def colour(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Brightness +-0.5, saturation x[0, 2], contrast x[0.5, 1.5] (images in [-1, 1])."""
    n, dev = x.shape[0], x.device
    x = x + (_uniform(n, generator, dev) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_uniform(n, generator, dev) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(n, generator, dev) + 0.5) + mean


def translation(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to `ratio` of its size, filling with zeros (mid-grey)."""
    n, _, h, w = x.shape
    sy, sx = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    ty = torch.randint(-sy, sy + 1, (n, 1, 1), generator=generator).to(x.device)
    tx = torch.randint(-sx, sx + 1, (n, 1, 1), generator=generator).to(x.device)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    iy = (gy[None] + ty + 1).clamp(0, h + 1)
    ix = (gx[None] + tx + 1).clamp(0, w + 1)
    padded = F.pad(x, (1, 1, 1, 1))  # out-of-range pixels read the zero border
    flat = padded.permute(0, 2, 3, 1)[torch.arange(n, device=x.device)[:, None, None], iy, ix]
    return flat.permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """Zero (mid-grey) one square of `ratio` x the size, placed at random inside each image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = torch.randint(0, h - ch + 1, (n, 1, 1), generator=generator).to(x.device)
    ox = torch.randint(0, w - cw + 1, (n, 1, 1), generator=generator).to(x.device)
    gy = torch.arange(h, device=x.device)[None, :, None]
    gx = torch.arange(w, device=x.device)[None, None, :]
    inside = (gy >= oy) & (gy < oy + ch) & (gx >= ox) & (gx < ox + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def diff_augment(x: torch.Tensor, generator: torch.Generator, policy: tuple[str, ...] = POLICIES) -> torch.Tensor:
    """Apply the policy's transforms in order; differentiable with respect to `x`."""
    for name in policy:
        if name == "color":
            x = colour(x, generator)
        elif name == "translation":
            x = translation(x, generator)
        elif name == "cutout":
            x = cutout(x, generator)
        else:
            raise ValueError(f"unknown DiffAugment policy {name!r}; choose from {POLICIES}")
    return x
