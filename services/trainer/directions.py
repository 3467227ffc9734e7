"""Latent directions for steering (GANSpace, Härkönen et al. 2020), written from the paper's idea.

GANSpace finds the principal components of an early generator activation over random latents. Our
generator's first layer is linear followed by BatchNorm (in eval mode, a per-feature affine map),
so for z ~ N(0, I) the activation is a = D W z + b and its covariance is (D W)(D W)^T: the
principal directions in activation space are the left singular vectors of D W and the latent
directions that move along them are the right singular vectors, exactly, without sampling. Moving
z by t along direction i moves the activation's projection on component i by t * sigma_i.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch
from torch import nn

DIRECTIONS = 5
MAX_AMOUNT = 5.0  # in standard deviations of z along the direction; larger leaves the prior


def _first_layer(generator: nn.Module) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """W [F, D] of the first Linear, and the eval-mode BatchNorm scale and shift per feature."""
    project = cast(nn.Sequential, generator.project)
    linear, bn = cast(nn.Linear, project[0]), cast(nn.BatchNorm2d, project[2])
    w = linear.weight.detach().float().cpu()
    per_channel = w.shape[0] // bn.num_features
    assert bn.running_var is not None and bn.running_mean is not None  # tracked: the generator's BatchNorm
    scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().float().cpu()
    shift = (bn.bias - bn.running_mean * scale).detach().float().cpu() if bn.bias is not None else 0 * scale
    return w, scale.repeat_interleave(per_channel), shift.repeat_interleave(per_channel)


def early_activation(generator: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """The first layer's normalised activation [N, F] (before the ReLU), as in eval mode."""
    w, scale, shift = _first_layer(generator)
    return (z.float().cpu() @ w.T) * scale + shift


@torch.no_grad()
def latent_directions(generator: nn.Module, count: int = DIRECTIONS) -> dict[str, Any]:
    """Top `count` directions, strongest first: unit latent vectors [count, D] (float32), the
    matching activation-space components [count, F] and the share of variance each explains.

    Sign convention (so the same weights always give the same vectors): each activation component
    sums to a positive number.
    """
    w, scale, _ = _first_layer(generator)
    m = (w * scale[:, None]).double()
    u, s, vh = torch.linalg.svd(m, full_matrices=False)
    u, s, vh = u[:, :count], s[:count], vh[:count]
    sign = torch.where(u.sum(0) < 0, -1.0, 1.0).double()
    u, vh = u * sign, vh * sign[:, None]
    total = float((torch.linalg.svdvals(m) ** 2).sum())
    return {"vectors": vh.float().numpy(), "components": u.T.float().numpy(),
            "singular_values": s.float().numpy(), "variance_share": (s**2 / total).float().numpy()}


def edit_latent(z: torch.Tensor | np.ndarray[Any, Any], direction: torch.Tensor | np.ndarray[Any, Any],
                amount: float) -> torch.Tensor:
    """z moved by `amount` along a unit `direction` (z [N, D] or [D]); raises on |amount| > MAX_AMOUNT."""
    if not np.isfinite(amount) or abs(amount) > MAX_AMOUNT:
        raise ValueError(f"amount must be within [-{MAX_AMOUNT}, {MAX_AMOUNT}], got {amount}")
    z_t = torch.as_tensor(z, dtype=torch.float32)
    d = torch.as_tensor(direction, dtype=torch.float32)
    d = d / d.norm().clamp_min(1e-12)
    moved: torch.Tensor = z_t + float(amount) * d
    return moved
