"""Seeded latents: reproducible per seed, distinct per output, validated."""

import numpy as np
import pytest

from services.inference import latents
from services.inference.latents import LatentParameterError


def test_same_seed_gives_identical_latents_and_each_output_can_be_regenerated_alone() -> None:
    a = latents.sample(seed=1234, count=4)
    b = latents.sample(seed=1234, count=4)
    assert a.z.dtype == np.float32 and a.z.shape == (4, latents.LATENT_DIM)
    assert np.array_equal(a.z, b.z)
    assert a.seeds == [1234, 1235, 1236, 1237]
    for i, s in enumerate(a.seeds):
        assert np.array_equal(latents.sample(seed=s, count=1).z[0], a.z[i])
    # Outputs differ from each other and from another seed.
    assert not np.allclose(a.z[0], a.z[1])
    assert not np.allclose(latents.sample(seed=99, count=1).z[0], a.z[0])


def test_seed_derivation_wraps_at_the_top_of_the_range() -> None:
    top = latents.SEED_LIMIT - 1
    batch = latents.sample(seed=top, count=2)
    assert batch.seeds == [top, 0]
    assert np.array_equal(batch.z[1], latents.latent_for_seed(0))


def test_variations_stay_near_the_base_and_grow_with_strength() -> None:
    base = latents.latent_for_seed(7).astype(np.float64)
    zero = latents.variations(base_seed=7, seed=100, count=3, strength=0.0)
    assert np.allclose(zero.z, base[None], atol=1e-6)

    def mean_distance(strength: float) -> float:
        z = latents.variations(base_seed=7, seed=100, count=8, strength=strength).z.astype(np.float64)
        return float(np.linalg.norm(z - base, axis=1).mean())

    assert 0.0 < mean_distance(0.1) < mean_distance(0.5) < mean_distance(1.0)
    z = latents.variations(base_seed=7, seed=100, count=8, strength=0.8).z
    # Rescaled onto the base latent's norm, not drifting off the latent shell.
    assert np.allclose(np.linalg.norm(z, axis=1), np.linalg.norm(base), rtol=1e-5)
    again = latents.variations(base_seed=7, seed=100, count=8, strength=0.8)
    assert np.array_equal(z, again.z) and again.seeds == list(range(100, 108))


def test_interpolation_runs_from_base_to_target_on_the_sphere() -> None:
    path = latents.interpolate(base_seed=1, target_seed=2, count=5)
    a, b = latents.latent_for_seed(1), latents.latent_for_seed(2)
    assert np.allclose(path.z[0], a, atol=1e-5) and np.allclose(path.z[-1], b, atol=1e-5)
    # A linear midpoint of two random 128-d Gaussians has ~0.7x their norm; slerp keeps it.
    mid_norm = np.linalg.norm(path.z[2])
    assert mid_norm > 0.95 * min(np.linalg.norm(a), np.linalg.norm(b))
    steps = np.linalg.norm(np.diff(path.z.astype(np.float64), axis=0), axis=1)
    assert np.allclose(steps, steps.mean(), rtol=0.1)  # evenly spaced
    assert path.seeds == [1] * 5
    assert np.array_equal(latents.interpolate(1, 2, 1).z[0], a)


def test_truncation_bounds_every_component_and_is_reproducible() -> None:
    z = latents.sample(seed=5, count=16, truncation=0.5).z
    assert np.abs(z).max() <= 0.5
    assert np.array_equal(z, latents.sample(seed=5, count=16, truncation=0.5).z)
    # Redrawn, not clipped: almost no components sit exactly on the bound.
    assert np.mean(np.abs(z) == 0.5) < 0.01
    tiny = latents.sample(seed=5, count=2, truncation=0.001).z
    assert np.abs(tiny).max() <= 0.001
    mode = latents.latents_for_request("truncation", count=2, seed=5)
    assert np.abs(mode.z).max() <= latents.DEFAULT_TRUNCATION_MODE_VALUE


def test_request_dispatch_matches_the_mode_functions() -> None:
    req = latents.latents_for_request("variations", count=3, seed=10, base_seed=4, strength=0.25, truncation=None)
    assert np.array_equal(req.z, latents.variations(4, 10, 3, 0.25).z)
    req = latents.latents_for_request("interpolate", count=3, seed=10, base_seed=4, target_seed=9)
    assert np.array_equal(req.z, latents.interpolate(4, 9, 3).z)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: latents.sample(seed=1, count=0), "count"),
        (lambda: latents.sample(seed=1, count=17), "count"),
        (lambda: latents.sample(seed=-1, count=1), "seed"),
        (lambda: latents.sample(seed=2**63, count=1), "seed"),
        (lambda: latents.sample(seed=1.5, count=1), "seed"),  # type: ignore[arg-type]
        (lambda: latents.sample(seed=1, count=2, truncation=0.0), "truncation"),
        (lambda: latents.sample(seed=1, count=2, truncation=2.5), "truncation"),
        (lambda: latents.sample(seed=1, count=2, truncation=float("nan")), "truncation"),
        (lambda: latents.variations(1, 2, 2, strength=1.5), "strength"),
        (lambda: latents.variations(1, 2, 2, strength=-0.1), "strength"),
        (lambda: latents.interpolate(1, -3, 2), "target_seed"),
        (lambda: latents.latents_for_request("interpolate", count=2, seed=1), "target_seed"),
        (lambda: latents.latents_for_request("zoom", count=2, seed=1), "mode"),
    ],
)
def test_out_of_range_parameters_are_rejected_with_the_field_named(call, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LatentParameterError) as info:
        call()
    assert info.value.field == field
    assert isinstance(info.value, ValueError)
