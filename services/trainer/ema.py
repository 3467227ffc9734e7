"""An exponential moving average of the generator's weights (Karras et al. 2018; Yazici et al.
2019): samples, metrics and the exported model use it, because the raw generator of a GAN
oscillates from step to step while the average sits near the centre of those oscillations."""

from __future__ import annotations

import copy

import torch
from torch import nn

EMA_DECAY = 0.995  # half-life ~140 steps: minutes-long CPU runs are a few thousand steps


def make_ema(generator: nn.Module) -> nn.Module:
    """A frozen copy, in eval mode, that `update_ema` keeps following the live generator."""
    ema = copy.deepcopy(generator).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: nn.Module, generator: nn.Module, step: int, decay: float = EMA_DECAY) -> None:
    """Average parameters; copy buffers (BatchNorm running statistics) as they are.

    The decay ramps up from 0 over the first steps ((1 + step) / (10 + step)), so an early EMA is
    not dominated by the random initial weights.
    """
    beta = min(decay, (1.0 + step) / (10.0 + step))
    for pe, pg in zip(ema.parameters(), generator.parameters(), strict=True):
        pe.lerp_(pg.detach(), 1.0 - beta)
    for be, bg in zip(ema.buffers(), generator.buffers(), strict=True):
        be.copy_(bg)
