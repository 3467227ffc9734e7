"""Seeded latent vectors for the generation modes.

Every latent comes from `latent_for_seed(seed)` (shared/latents.py, the rule the trainer's seed
suggestions use too): numpy's PCG64 generator seeded with the integer seed, 128 standard-normal
float32 values. So one seed is one latent on every machine and numpy 1.x
release (PCG64 and `standard_normal` are stream-stable), and the model then turns it into the same
image bytes on the same runtime.

Mode `edit` moves each output's seeded latent by `amount` along one of the version's latent
directions (unit vectors shipped beside model.onnx, see shared/contracts/triton.py): the same seed,
direction and amount give the same latent; amount 0 is the plain sample.

Per-output seeds: output `i` of a request with seed `s` uses seed `(s + i) mod 2**63`, so a user can
regenerate any single output alone with `sample(seed=output.seed, count=1)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from shared.latents import (
    LATENT_DIM,
    MAX_TRUNCATION,
    SEED_LIMIT,
    LatentParameterError,
    latent_for_seed,
    moved,
)
from shared.latents import check_seed as _check_seed
from shared.latents import check_truncation as _check_truncation

__all__ = ["LATENT_DIM", "MAX_COUNT", "MAX_EDIT_AMOUNT", "MAX_TRUNCATION", "MODES", "SEED_LIMIT", "LatentBatch",
           "LatentParameterError", "edit", "interpolate", "latent_for_seed", "latents_for_request", "output_seed",
           "sample", "variations"]

MAX_COUNT = 16
MAX_EDIT_AMOUNT = 5.0  # in standard deviations of z along the direction (the trainer's MAX_AMOUNT)

Mode = Literal["sample", "variations", "interpolate", "truncation", "edit"]
MODES: tuple[str, ...] = ("sample", "variations", "interpolate", "truncation", "edit")
# The `truncation` mode is `sample` with the truncation trick always on, this strong by default.
DEFAULT_TRUNCATION_MODE_VALUE = 0.7


@dataclass(frozen=True)
class LatentBatch:
    """Latents to feed the generator, with the seed reported for each output."""

    z: np.ndarray[Any, Any]  # [count, LATENT_DIM] float32
    seeds: list[int]


def output_seed(seed: int, index: int) -> int:
    """The seed of output `index` of a request seeded with `seed`."""
    return (seed + index) % SEED_LIMIT


def sample(seed: int, count: int, truncation: float | None = None) -> LatentBatch:
    """`count` independent latents, output i seeded with `output_seed(seed, i)`."""
    _check_seed("seed", seed)
    _check_count(count)
    _check_truncation(truncation)
    seeds = [output_seed(seed, i) for i in range(count)]
    return LatentBatch(np.stack([latent_for_seed(s, truncation) for s in seeds]), seeds)


def variations(base_seed: int, seed: int, count: int, strength: float, truncation: float | None = None) -> LatentBatch:
    """Latents around the base seed's latent: z_i = rescale(base + strength * noise_i).

    noise_i is the latent of `output_seed(seed, i)`; the sum is rescaled to the base latent's norm so
    that every variation stays on the shell where the generator was trained (a plain sum would grow
    with strength and drift off it). strength 0 gives the base image; 1 is as far again as a fresh
    sample.
    """
    _check_seed("base_seed", base_seed)
    _check_seed("seed", seed)
    _check_count(count)
    _check_truncation(truncation)
    if not (0.0 <= strength <= 1.0):
        raise LatentParameterError("strength", "must be between 0 and 1")
    base = latent_for_seed(base_seed, truncation).astype(np.float64)
    seeds = [output_seed(seed, i) for i in range(count)]
    out = []
    for s in seeds:
        mixed = base + strength * latent_for_seed(s, truncation).astype(np.float64)
        out.append(mixed * (np.linalg.norm(base) / np.linalg.norm(mixed)))
    return LatentBatch(np.stack(out).astype(np.float32), seeds)


def interpolate(base_seed: int, target_seed: int, count: int, truncation: float | None = None) -> LatentBatch:
    """`count` evenly spaced points on the great-circle path from base to target (both included).

    Spherical rather than linear interpolation: the midpoint of two Gaussian latents has a smaller
    norm than either, which makes a linear morph strip wash out in the middle. Each output reports
    `base_seed` as its seed; its position on the path is index / (count - 1).
    """
    _check_seed("base_seed", base_seed)
    _check_seed("target_seed", target_seed)
    _check_count(count)
    _check_truncation(truncation)
    a = latent_for_seed(base_seed, truncation).astype(np.float64)
    b = latent_for_seed(target_seed, truncation).astype(np.float64)
    ts = np.linspace(0.0, 1.0, count) if count > 1 else np.zeros(1)
    return LatentBatch(np.stack([_slerp(a, b, float(t)) for t in ts]).astype(np.float32), [base_seed] * count)


def edit(seed: int, count: int, vector: np.ndarray[Any, Any], amount: float,
         truncation: float | None = None) -> LatentBatch:
    """`sample(seed, count)` with every latent moved by `amount` along the unit `vector`."""
    _check_seed("seed", seed)
    _check_count(count)
    _check_truncation(truncation)
    if isinstance(amount, bool) or not isinstance(amount, int | float) or not abs(amount) <= MAX_EDIT_AMOUNT:
        raise LatentParameterError("amount", f"must be between -{MAX_EDIT_AMOUNT:g} and {MAX_EDIT_AMOUNT:g}")
    d = np.asarray(vector, np.float64).reshape(-1)
    norm = float(np.linalg.norm(d))
    if d.shape != (LATENT_DIM,) or not np.isfinite(norm) or norm < 1e-12:
        raise LatentParameterError("direction", "this direction's vector is not usable")
    base = sample(seed, count, truncation)
    return LatentBatch(moved(base.z, d, amount), base.seeds)


def latents_for_request(
    mode: str,
    *,
    count: int,
    seed: int,
    base_seed: int | None = None,
    target_seed: int | None = None,
    strength: float | None = None,
    truncation: float | None = None,
    direction: int | None = None,
    amount: float | None = None,
    directions: np.ndarray[Any, Any] | None = None,
) -> LatentBatch:
    """Dispatch on the request's mode (API parameters as given; `seed` already chosen).

    `directions` [K, LATENT_DIM]: the version's direction vectors, direction id i is row i - 1."""
    if mode == "sample":
        return sample(seed, count, truncation)
    if mode == "truncation":
        return sample(seed, count, DEFAULT_TRUNCATION_MODE_VALUE if truncation is None else truncation)
    if mode == "variations":
        return variations(
            seed if base_seed is None else base_seed,
            seed,
            count,
            0.3 if strength is None else strength,
            truncation,
        )
    if mode == "interpolate":
        if target_seed is None:
            raise LatentParameterError("target_seed", "is required for mode interpolate")
        return interpolate(seed if base_seed is None else base_seed, target_seed, count, truncation)
    if mode == "edit":
        if direction is None or amount is None:
            raise LatentParameterError("direction", "mode edit needs direction and amount")
        available = 0 if directions is None else len(directions)
        if isinstance(direction, bool) or not isinstance(direction, int | np.integer) \
                or not 1 <= direction <= available:
            have = f"its directions are 1..{available}" if available else "it has none"
            raise LatentParameterError("direction", f"this model version has no direction {direction} ({have})")
        assert directions is not None
        return edit(seed, count, directions[direction - 1], amount, truncation)
    raise LatentParameterError("mode", f"must be one of {', '.join(MODES)}")


def _slerp(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any], t: float) -> np.ndarray[Any, Any]:
    # Interpolate direction on the sphere and norm linearly.
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    ua, ub = a / na, b / nb
    omega = np.arccos(np.clip(np.dot(ua, ub), -1.0, 1.0))
    if omega < 1e-6:  # (nearly) the same direction: the formula divides by sin(omega) ≈ 0
        direction = ua
    else:
        direction = (np.sin((1 - t) * omega) * ua + np.sin(t * omega) * ub) / np.sin(omega)
    return np.asarray(direction * ((1 - t) * na + t * nb))


def _check_count(count: int) -> None:
    if isinstance(count, bool) or not isinstance(count, int | np.integer):
        raise LatentParameterError("count", "must be an integer")
    if not (1 <= count <= MAX_COUNT):
        raise LatentParameterError("count", f"must be between 1 and {MAX_COUNT}")
