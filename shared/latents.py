"""The seed -> latent rule every part of the platform uses: numpy's PCG64 generator seeded with the
integer seed, LATENT_DIM standard-normal float32 values (optionally with the truncation trick).

PCG64 and `standard_normal` are stream-stable across numpy 1.x releases, so one seed is one latent on
every machine. Inference generates from it (services/inference/latents.py builds every mode on
`latent_for_seed`, mode `edit` on `moved`) and the trainer searches seeds and directions with it
(services/trainer/seeds.py): a seed the trainer suggests reproduces, through inference, the image it
was chosen for.
"""

from __future__ import annotations

from typing import Any

import numpy as np

LATENT_DIM = 128
SEED_LIMIT = 2**63  # seeds are 0 .. 2**63 - 1 (fits a signed BIGINT column and JSON integers safely)
MAX_TRUNCATION = 2.0
# Components beyond ±truncation are redrawn; after this many rounds the few left are clipped, so
# even a tiny truncation finishes quickly.
_TRUNCATION_REDRAW_ROUNDS = 64


class LatentParameterError(ValueError):
    """A generation parameter is out of range; `field` names it (the service answers 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def latent_for_seed(seed: int, truncation: float | None = None) -> np.ndarray[Any, Any]:
    """One latent [LATENT_DIM] float32 from `seed`, optionally with the truncation trick."""
    check_seed("seed", seed)
    check_truncation(truncation)
    rng = np.random.Generator(np.random.PCG64(seed))
    z = rng.standard_normal(LATENT_DIM, dtype=np.float32)
    if truncation is not None:
        z = _truncate(z, truncation, rng)
    return z


def moved(z: np.ndarray[Any, Any], vector: np.ndarray[Any, Any], amount: float) -> np.ndarray[Any, Any]:
    """Latents [N, LATENT_DIM] moved by `amount` along the unit `vector` (mode `edit`; the vector is
    a version's direction, checked by the caller to be LATENT_DIM finite values, not all zero)."""
    d = np.asarray(vector, np.float64).reshape(-1)
    out = np.asarray(z, np.float64) + float(amount) * (d / float(np.linalg.norm(d)))[None, :]
    return out.astype(np.float32)


def _truncate(z: np.ndarray[Any, Any], truncation: float, rng: np.random.Generator) -> np.ndarray[Any, Any]:
    # Truncation trick (Brock et al., BigGAN): redraw out-of-range components from the same seeded
    # generator, so the result is still a pure function of the seed.
    z = z.copy()
    bound = np.float32(truncation)
    if float(bound) > truncation:  # float32 rounding must not let a component exceed the bound
        bound = np.nextafter(bound, np.float32(0))
    for _ in range(_TRUNCATION_REDRAW_ROUNDS):
        outside = np.abs(z) > bound
        n = int(outside.sum())
        if n == 0:
            return z
        z[outside] = rng.standard_normal(n, dtype=np.float32)
    return np.clip(z, -bound, bound)


def check_seed(field: str, seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise LatentParameterError(field, "must be an integer")
    if not (0 <= seed < SEED_LIMIT):
        raise LatentParameterError(field, f"must be between 0 and {SEED_LIMIT - 1}")


def check_truncation(truncation: float | None) -> None:
    if truncation is None:
        return
    if not (0.0 < truncation <= MAX_TRUNCATION):  # also rejects NaN
        raise LatentParameterError("truncation", f"must be greater than 0 and at most {MAX_TRUNCATION}")
