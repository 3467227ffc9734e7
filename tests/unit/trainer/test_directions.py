"""GANSpace-style steering: stable directions, deterministic edits, monotone along a direction."""

import itertools

import numpy as np
import pytest
import torch

from services.trainer.directions import MAX_AMOUNT, early_activation, edit_latent, latent_directions
from services.trainer.evaluation import generate
from services.trainer.models import LATENT_DIM, build


def _generator(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    g = build("dcgan", 32, width=8).generator
    g.train()
    with torch.no_grad():  # give BatchNorm non-trivial running statistics
        for _ in range(5):
            g(torch.randn(16, LATENT_DIM))
    return g.eval()


def test_five_unit_directions_in_a_stable_order() -> None:
    g = _generator()
    a, b = latent_directions(g), latent_directions(g)
    assert a["vectors"].shape == (5, LATENT_DIM) and a["vectors"].dtype == np.float32
    assert np.array_equal(a["vectors"], b["vectors"])
    assert np.allclose(np.linalg.norm(a["vectors"], axis=1), 1.0, atol=1e-5)
    assert np.all(np.diff(a["variance_share"]) <= 0) and 0 < a["variance_share"].sum() <= 1
    assert np.allclose(a["vectors"] @ a["vectors"].T, np.eye(5), atol=1e-4)  # orthonormal


def test_moving_along_a_direction_is_deterministic_and_monotone() -> None:
    g = _generator(1)
    dirs = latent_directions(g)
    z = torch.randn(3, LATENT_DIM, generator=torch.Generator().manual_seed(4))
    amounts = [-3.0, -1.5, 0.0, 1.5, 3.0]
    for i in range(5):
        d, comp = dirs["vectors"][i], torch.from_numpy(dirs["components"][i])
        proj = [early_activation(g, edit_latent(z, d, t)) @ comp for t in amounts]
        assert all(torch.all(b > a) for a, b in itertools.pairwise(proj))
        base = generate(g, z)
        change = [float((generate(g, edit_latent(z, d, t)) - base).abs().mean()) for t in (0.0, 1.0, 2.0, 4.0)]
        assert change[0] == 0 and all(b > a for a, b in itertools.pairwise(change)), change
    assert torch.equal(generate(g, edit_latent(z, dirs["vectors"][0], 2.0)),
                       generate(g, edit_latent(z, dirs["vectors"][0], 2.0)))


def test_amount_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="amount"):
        edit_latent(torch.zeros(LATENT_DIM), np.eye(LATENT_DIM)[0], MAX_AMOUNT + 0.1)
    with pytest.raises(ValueError, match="amount"):
        edit_latent(torch.zeros(LATENT_DIM), np.eye(LATENT_DIM)[0], float("nan"))
