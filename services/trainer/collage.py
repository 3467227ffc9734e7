"""The "collage" generator: z -> a few flat-coloured shapes (circles, rectangles, triangles) laid
one over another on a background, drawn by a differentiable rasteriser instead of convolutions.

Why: a convolutional generator trained for minutes on a dozen works of hard-edged shapes paints
soft regions with wobbly outlines; it would need tens of thousands of steps to learn straight
edges and round arcs. Here those are given, and training learns what the style is made of: how
many shapes, of which kinds, where, how big, how turned, in which of its colours. Measured in
bench/bench_training.py (flat shapes, 20 works at 64 px, one CPU thread; README, "Generative
models").

How a shape is drawn: each one has a centre, a half-width and an aspect (the other half-extent, at
most 3x or a third of it), a rotation (cos, sin), soft weights
over the three kinds, a presence and an RGB colour. Every pixel gets the signed distance to each
kind's outline in the shape's own frame; the kinds' distances are blended by the weights (the
discriminator pushes the weights to one kind), and a sigmoid of the distance over about one pixel
gives the shape's coverage, so the outline stays differentiable in every parameter. Shapes are
composited in order (painter's algorithm): later shapes cover earlier ones.

The first layer is the DCGAN generator's (Linear -> 4x4 map -> BatchNorm -> ReLU), so GANSpace
directions (directions.py) and everything that reads `generator.project` work unchanged; the
export is plain tensor arithmetic that ONNX Runtime runs.
"""

from __future__ import annotations

import math

import torch
from torch import nn

SHAPES = 12  # shapes per image (a shape can be absent: its presence goes to 0)
PARAMS = 13  # per shape: cx cy hx aspect cos sin w_circle w_rect w_tri presence r g b
HIDDEN = 256
EDGE_PX = 1.0  # width of the soft edge, in pixels
MAX_LOG_ASPECT = math.log(3.0)  # a rectangle's sides differ by 3x at most (unbounded, it drew slivers)
_SQRT3 = math.sqrt(3.0)


def _pixel_grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel centres in [-1, 1], as [1, 1, S, S] x and y (contiguous: buffers get copied in place)."""
    g = (torch.arange(size, dtype=torch.float32) + 0.5) / size * 2.0 - 1.0
    y, x = torch.meshgrid(g, g, indexing="ij")
    return x.contiguous()[None, None], y.contiguous()[None, None]


def _circle(u: torch.Tensor, v: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(u * u + v * v + 1e-8) - r


def _rectangle(u: torch.Tensor, v: torch.Tensor, hx: torch.Tensor, hy: torch.Tensor) -> torch.Tensor:
    qx, qy = u.abs() - hx, v.abs() - hy
    outside = torch.sqrt(qx.clamp(min=0) ** 2 + qy.clamp(min=0) ** 2 + 1e-8)
    return outside + torch.maximum(qx, qy).clamp(max=0)


def _triangle(u: torch.Tensor, v: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Signed distance to an equilateral triangle of size r (base at v = -r/sqrt(3), apex at
    v = 2r/sqrt(3)), in the shape's own frame."""
    x, y = u.abs() / r - 1.0, v / r + 1.0 / _SQRT3
    fold = (x + _SQRT3 * y) > 0  # reflect into the half that holds the nearest edge
    x, y = torch.where(fold, (x - _SQRT3 * y) / 2, x), torch.where(fold, (-_SQRT3 * x - y) / 2, y)
    x = x - x.clamp(-2.0, 0.0)
    return -torch.sqrt(x * x + y * y + 1e-8) * torch.sign(y) * r


class CollageGenerator(nn.Module):
    """z [N, 128] -> image [N, 3, S, S] in [-1, 1]: SHAPES shapes over a background."""

    grid_x: torch.Tensor  # pixel centres (buffers, not saved: they follow from image_size)
    grid_y: torch.Tensor

    def __init__(self, image_size: int = 32, width: int = 16, latent_dim: int = 128, shapes: int = SHAPES):
        super().__init__()
        c0 = width * 8
        self.image_size, self.latent_dim, self.shapes = image_size, latent_dim, shapes
        self.padding_mode = "zeros"  # recorded with the weights like the DCGAN generator's (no convs here)
        self.project = nn.Sequential(
            nn.Linear(latent_dim, c0 * 16, bias=False), nn.Unflatten(1, (c0, 4, 4)),
            nn.BatchNorm2d(c0), nn.ReLU(inplace=True),
        )
        self.layout = nn.Sequential(
            nn.Flatten(), nn.Linear(c0 * 16, HIDDEN), nn.ReLU(inplace=True),
            nn.Linear(HIDDEN, HIDDEN), nn.ReLU(inplace=True), nn.Linear(HIDDEN, shapes * PARAMS + 3),
        )
        x, y = _pixel_grid(image_size)
        self.register_buffer("grid_x", x, persistent=False)
        self.register_buffer("grid_y", y, persistent=False)

    def reset_parameters(self) -> None:
        """Small weights (biases keep PyTorch's small uniform start, which tells the shapes apart):
        every shape starts half-present near the centre, in a mid colour."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.05)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        n, s = z.shape[0], self.image_size
        out = self.layout(self.project(z))
        background = torch.tanh(out[:, -3:])[:, :, None, None]
        p = out[:, :-3].reshape(n, self.shapes, PARAMS, 1, 1)
        cx, cy = 1.1 * torch.tanh(p[:, :, 0]), 1.1 * torch.tanh(p[:, :, 1])  # [N, K, 1, 1]
        hx = 0.04 + 0.6 * torch.sigmoid(p[:, :, 2])
        hy = hx * torch.exp(MAX_LOG_ASPECT * torch.tanh(p[:, :, 3]))  # no slivers: aspect within 1/3..3
        norm = torch.sqrt(p[:, :, 4] ** 2 + p[:, :, 5] ** 2 + 1e-6)
        cos, sin = p[:, :, 4] / norm, p[:, :, 5] / norm
        kind = torch.softmax(p[:, :, 6:9], dim=2)
        presence = torch.sigmoid(p[:, :, 9])
        colour = torch.tanh(p[:, :, 10:13])  # [N, K, 3, 1, 1]
        dx, dy = self.grid_x - cx, self.grid_y - cy  # [N, K, S, S]
        u, v = cos * dx + sin * dy, cos * dy - sin * dx
        r = 0.5 * (hx + hy)
        distance = (kind[:, :, 0] * _circle(u, v, r) + kind[:, :, 1] * _rectangle(u, v, hx, hy)
                    + kind[:, :, 2] * _triangle(u, v, r))
        coverage = torch.sigmoid(distance * (-s / (2.0 * EDGE_PX))) * presence
        image = background.expand(n, 3, s, s)
        for k in range(self.shapes):  # painter's order
            image = image + coverage[:, k:k + 1] * (colour[:, k] - image)
        return image
