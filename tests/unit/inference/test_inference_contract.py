"""Request validation shared by the gateway and the service."""

import pytest
from pydantic import ValidationError

from services.inference import latents
from services.inference.catalog import visibility_from_event
from services.inference.generations import request_params
from shared.contracts import inference as schemas
from shared.contracts.inference import GenerationCreate

MODEL = "01J9ZC7A0000000000000MODEL"


def test_limits_agree_with_the_latent_code() -> None:
    assert schemas.MAX_COUNT == latents.MAX_COUNT
    assert schemas.SEED_LIMIT == latents.SEED_LIMIT
    assert schemas.MAX_TRUNCATION == latents.MAX_TRUNCATION


@pytest.mark.parametrize("body", [
    {"count": 0}, {"count": 17}, {"count": 2.5}, {"count": "3"}, {"seed": -1}, {"seed": 2**63}, {"seed": 1.5},
    {"truncation": 0}, {"truncation": 2.5}, {"mode": "dream"}, {"mode": "interpolate"},
    {"mode": "variations", "strength": 1.01}, {"mode": "variations", "strength": -0.1},
    {"strength": 0.5}, {"target_seed": 3}, {"base_seed": 3}, {"version": -1}, {"unknown": 1},
])
def test_out_of_range_or_misplaced_parameters_are_rejected(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        GenerationCreate.model_validate({"model_id": MODEL, **body})


def test_valid_requests_keep_only_the_parameters_given() -> None:
    body = GenerationCreate.model_validate({"model_id": MODEL})
    assert (body.count, body.mode, body.seed) == (4, "sample", None)
    assert request_params(body) == {}
    body = GenerationCreate.model_validate({"model_id": MODEL, "mode": "variations", "base_seed": 1,
                                            "strength": 0.25, "count": 16, "seed": 2**63 - 1})
    assert request_params(body) == {"base_seed": 1, "strength": 0.25}
    body = GenerationCreate.model_validate({"model_id": MODEL, "mode": "interpolate", "target_seed": 9,
                                            "truncation": 0.7})
    assert request_params(body) == {"target_seed": 9, "truncation": 0.7}


def test_model_visibility_is_private_unless_the_trainer_says_public() -> None:
    assert visibility_from_event({}) is None  # keep what is known; new models default to private
    assert visibility_from_event({"visibility": "public"}) == "public"
    assert visibility_from_event({"visibility": "unlisted"}) is None
    assert visibility_from_event({"public": True}) == "public"
    assert visibility_from_event({"public": False}) == "private"
