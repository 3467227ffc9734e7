"""The collage generator draws what its layout says: hard-edged shapes of the given kind, place,
size, turn and colour, composited in order; and it trains, exports and reloads like the DCGAN."""

import itertools
import math

import pytest
import torch

from services.trainer.collage import EDGE_PX, MAX_LOG_ASPECT, PARAMS, CollageGenerator
from services.trainer.models import LATENT_DIM, build, generator_for_export, generator_state_bytes, load_generator

BIG = 20.0  # a logit this large is a hard choice (softmax / sigmoid saturate)


def _painted(shapes: list[dict[str, float]], background: tuple[float, float, float] = (1.0, 1.0, 1.0),
             size: int = 64) -> torch.Tensor:
    """One image from a generator whose layout ignores z and returns these shapes' parameters."""
    g = CollageGenerator(size, width=4, shapes=len(shapes)).eval()
    raw = torch.zeros(len(shapes) * PARAMS + 3)
    for k, s in enumerate(shapes):
        kind = [-BIG, -BIG, -BIG]
        kind[["circle", "rectangle", "triangle"].index(str(s["kind"]))] = BIG
        hx, hy = s["hx"], s.get("hy", s["hx"])
        raw[k * PARAMS:(k + 1) * PARAMS] = torch.tensor([
            torch.atanh(torch.tensor(s["cx"] / 1.1)), torch.atanh(torch.tensor(s["cy"] / 1.1)),
            torch.logit(torch.tensor((hx - 0.04) / 0.6)), torch.atanh(torch.tensor(math.log(hy / hx) / MAX_LOG_ASPECT)),
            s.get("cos", 1.0), s.get("sin", 0.0), *kind, BIG,
            *torch.atanh(torch.tensor(s["colour"]) * 0.999)])
    raw[-3:] = torch.atanh(torch.tensor(background) * 0.999)
    last = g.layout[-1]
    assert isinstance(last, torch.nn.Linear)
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(raw)
        return g(torch.zeros(1, LATENT_DIM))[0]


def _at(image: torch.Tensor, x: float, y: float) -> list[float]:
    """The pixel at (x, y) in [-1, 1] coordinates (1 px = 2 / 64), to one decimal: a pixel 5 px or
    more from an edge has its shape's colour to within 0.05."""
    s = image.shape[-1]
    col, row = int((x + 1) / 2 * s), int((y + 1) / 2 * s)
    return [round(float(v), 1) + 0.0 for v in image[:, row, col]]


RED, BLUE = (1.0, -1.0, -1.0), (-1.0, -1.0, 1.0)


def test_a_rectangle_has_straight_hard_edges_and_its_colour() -> None:
    image = _painted([{"kind": "rectangle", "cx": 0.0, "cy": 0.0, "hx": 0.5, "hy": 0.25, "colour": RED}])
    assert _at(image, 0.0, 0.0) == [1.0, -1.0, -1.0] and _at(image, 0.35, 0.1) == [1.0, -1.0, -1.0]
    assert _at(image, 0.0, 0.4) == [1.0, 1.0, 1.0]  # below its half-height: background
    assert _at(image, 0.65, 0.0) == [1.0, 1.0, 1.0]
    # Hard edges: along a row through the middle the colour goes from 5 % to 95 % of the way within
    # about 6 EDGE_PX pixels at each of the two edges, and is flat everywhere else.
    row = image[1, 32]  # green channel: -1 inside, 1 outside
    soft = ((row > -0.9) & (row < 0.9)).sum().item()
    assert 2 <= soft <= 2 * (6 * EDGE_PX + 1), row


def test_a_circle_is_round_and_a_turned_rectangle_is_turned() -> None:
    circle = _painted([{"kind": "circle", "cx": 0.0, "cy": 0.0, "hx": 0.5, "colour": BLUE}])
    assert _at(circle, 0.25, 0.25) == [-1.0, -1.0, 1.0]  # inside (distance 0.35 of radius 0.5)
    assert _at(circle, 0.45, 0.45) == [1.0, 1.0, 1.0]  # outside (0.64): a square would cover it
    square = {"kind": "rectangle", "cx": 0.0, "cy": 0.0, "hx": 0.6, "colour": BLUE}
    upright = _painted([square])
    diamond = _painted([{**square, "cos": 0.7071, "sin": 0.7071}])
    # Blue's red channel is -1: below 0 means the shape covers the pixel more than halfway.
    assert upright[0, 14, 14] < 0 < diamond[0, 14, 14]  # near the upright corner, cut off when turned
    assert diamond[0, 32, 56] < 0 < upright[0, 32, 56]  # towards the turned corner on the x axis (0.85)


def test_a_triangle_narrows_linearly_towards_its_apex() -> None:
    image = _painted([{"kind": "triangle", "cx": 0.0, "cy": 0.0, "hx": 0.5, "colour": RED}])
    red = image[1] < 0  # green is -1 inside the red triangle

    def width(y: float) -> int:
        return int(red[int((y + 1) / 2 * 64)].sum())

    widths = [width(y) for y in (0.4, 0.2, 0.0, -0.2)]  # from the apex (below) up to the base
    assert 0 < widths[0] < widths[1] < widths[2] < widths[3], widths
    steps = [b - a for a, b in itertools.pairwise(widths)]
    assert max(steps) - min(steps) <= 2, widths  # straight sides: equal growth per equal step


def test_later_shapes_cover_earlier_ones() -> None:
    image = _painted([{"kind": "rectangle", "cx": 0.0, "cy": 0.0, "hx": 0.6, "colour": RED},
                      {"kind": "circle", "cx": 0.0, "cy": 0.0, "hx": 0.2, "colour": BLUE}])
    assert _at(image, 0.0, 0.0) == [-1.0, -1.0, 1.0] and _at(image, 0.4, 0.0) == [1.0, -1.0, -1.0]


@pytest.mark.parametrize("size", [32, 64, 128])
def test_collage_builds_trains_and_reloads_like_the_dcgan(size: int) -> None:
    torch.manual_seed(3)
    bundle = build("collage", size, width=8, recipe="fewshot")
    assert bundle.architecture == "collage" and bundle.ema is not None
    z = torch.randn(4, LATENT_DIM)
    images = bundle.generator(z)
    assert images.shape == (4, 3, size, size) and images.abs().max() <= 1
    assert bundle.discriminator is not None and bundle.discriminator(images).shape[0] == 4
    images.mean().backward()  # every layout parameter gets a gradient through the soft edges
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in bundle.generator.layout.parameters())
    want = generator_for_export(bundle).eval()(z)
    assert torch.equal(load_generator(generator_state_bytes(bundle))(z), want)
    assert not torch.allclose(want[0], want[1])  # z matters


def test_collage_refuses_sizes_the_platform_does_not_serve() -> None:
    with pytest.raises(ValueError):
        build("collage", 48)


@pytest.mark.parametrize("batch", [1, 3, 5, 7, 16])
def test_collage_trains_a_step_at_any_batch_size(batch: int) -> None:
    """The discriminator's minibatch-std groups divide whatever batch the artist asked for."""
    from demo.art import png_bytes, render
    from services.trainer.dataset import ImageDataset
    from services.trainer.training import TrainConfig, TrainingSession

    works = [png_bytes(render("geometric", seed, 32)) for seed in range(4)]
    config = TrainConfig(architecture="collage", image_size=32, steps=2, batch_size=batch, width=4, seed=1)
    session = TrainingSession(config, ImageDataset(works, 32, True), torch.device("cpu"))
    losses = session.train_step()
    assert set(losses) == {"d_loss", "g_loss"} and all(torch.isfinite(v) for v in losses.values())


def test_a_rectangle_is_never_a_sliver() -> None:
    """However far the layout pushes a rectangle's aspect, its long side is at most three times
    the short one."""
    g = CollageGenerator(64, width=4, shapes=1).eval()
    raw = torch.zeros(PARAMS + 3)
    raw[2], raw[3] = torch.logit(torch.tensor((0.15 - 0.04) / 0.6)), 50.0  # half-width 0.15, aspect saturated
    raw[4], raw[7], raw[9] = 1.0, BIG, BIG  # unturned, a rectangle, present
    raw[10:13] = torch.tensor([BIG, -BIG, -BIG])  # red
    raw[-3:] = BIG  # on white
    with torch.no_grad():
        g.layout[-1].weight.zero_()
        g.layout[-1].bias.copy_(raw)
        image = g(torch.zeros(1, LATENT_DIM))[0]
    rows, cols = (image[1] < 0).nonzero(as_tuple=True)
    height, width = int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)
    assert 2.7 * width <= height <= 3.3 * width, (width, height)
