"""Mode `edit` (move a seed's latent along one of the version's directions) and the originality
figure on outputs with its publish guard (a near copy is published only when the owner says so)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from unittest.mock import AsyncMock, MagicMock, patch

import numpy as np
import orjson
import pytest
from pydantic import ValidationError

from services.inference import latents
from services.inference.generations import InferenceService, generation_view, request_params
from services.inference.store import GenerationRow, OutputRow
from shared.contracts import inference as c
from shared.errors import Unprocessable

MODEL = "01J9ZC7A0000000000000MODEL"
GEN = "01J9ZC7A0000000000000GENER"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _directions(k: int = 5, seed: int = 0) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((latents.LATENT_DIM, k)))
    return q.T.astype(np.float32)


@pytest.mark.parametrize("body", [
    {"mode": "edit"}, {"mode": "edit", "direction": 1}, {"mode": "edit", "amount": 1.0},
    {"mode": "edit", "direction": 1, "amount": 5.01}, {"mode": "edit", "direction": 1, "amount": -6},
    {"mode": "edit", "direction": 0, "amount": 1.0}, {"mode": "edit", "direction": "1", "amount": 1.0},
    {"mode": "edit", "direction": 1, "amount": 1.0, "base_seed": 2},
    {"direction": 1}, {"amount": 0.5}, {"mode": "variations", "direction": 1, "amount": 1.0},
])
def test_edit_parameters_out_of_range_or_misplaced_are_rejected(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        c.GenerationCreate.model_validate({"model_id": MODEL, **body})


def test_an_edit_request_records_its_direction_and_amount() -> None:
    body = c.GenerationCreate.model_validate({"model_id": MODEL, "mode": "edit", "direction": 2, "amount": -1.5})
    assert request_params(body) == {"direction": 2, "amount": -1.5}


def test_edit_is_deterministic_and_moves_each_seeds_latent_by_amount_along_the_direction() -> None:
    dirs = _directions()
    a = latents.latents_for_request("edit", count=3, seed=40, direction=2, amount=1.5, directions=dirs)
    b = latents.latents_for_request("edit", count=3, seed=40, direction=2, amount=1.5, directions=dirs)
    assert a.z.tobytes() == b.z.tobytes() and a.seeds == b.seeds == [40, 41, 42]
    plain = latents.sample(40, 3)
    zero = latents.latents_for_request("edit", count=3, seed=40, direction=2, amount=0.0, directions=dirs)
    assert np.array_equal(zero.z, plain.z)  # amount 0 is the seed's own image
    d = dirs[1]
    projections = [latents.latents_for_request("edit", count=3, seed=40, direction=2, amount=t,
                                               directions=dirs).z @ d for t in (-5.0, -1.0, 0.0, 2.0, 5.0)]
    assert np.all(np.diff(np.stack(projections), axis=0) > 0)
    assert np.allclose(projections[-1] - projections[2], 5.0, atol=1e-4)
    # Only that direction moves: the other directions' coordinates stay put.
    assert np.allclose(a.z @ dirs[0], plain.z @ dirs[0], atol=1e-5)
    # A single output of an edit can be regenerated alone from its seed.
    one = latents.latents_for_request("edit", count=1, seed=41, direction=2, amount=1.5, directions=dirs)
    assert np.array_equal(one.z[0], a.z[1])


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"direction": 6, "amount": 1.0}, "direction"),
    ({"direction": 1, "amount": 5.5}, "amount"),
    ({"direction": 1, "amount": float("nan")}, "amount"),
])
def test_unknown_direction_or_amount_out_of_range_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(latents.LatentParameterError) as err:
        latents.latents_for_request("edit", count=1, seed=1, directions=_directions(), **kwargs)
    assert err.value.field == field


def test_a_version_without_directions_has_no_direction_to_edit_along() -> None:
    with pytest.raises(latents.LatentParameterError) as err:
        latents.latents_for_request("edit", count=1, seed=1, direction=1, amount=1.0, directions=None)
    assert err.value.field == "direction" and "none" in err.value.message


# -- originality on outputs and the publish guard -----------------------------------------------------------

def _generation() -> GenerationRow:
    return GenerationRow(id=GEN, owner_id="u1", model_id="m1", version=1, mode="edit", count=1, seed=7,
                         params={"direction": 1, "amount": 2.0}, status="succeeded", error=None, watermark_id=None,
                         idempotency_key=None, attempts=1, created_at=NOW, started_at=NOW, finished_at=NOW)


def _output(near_copy: bool | None) -> OutputRow:
    figure = None if near_copy is None else {"distance": 0.1, "originality": 0.2 if near_copy else 1.1,
                                             "near_copy": near_copy, "nearest_work_id": "w1"}
    return OutputRow(generation_id=GEN, index=0, asset_id="a1", seed=7, image_sha256="ab", signed_sha256="cd",
                     width=32, height=32, score=None, rated_at=None, created_at=NOW, originality=figure)


def test_the_generation_view_carries_each_outputs_originality() -> None:
    view = c.Generation.model_validate(generation_view(_generation(), [_output(True)]))
    assert view.mode == "edit" and view.outputs[0].originality is not None
    assert view.outputs[0].originality.near_copy and view.outputs[0].originality.nearest_work_id == "w1"
    assert c.Generation.model_validate(generation_view(_generation(), [_output(None)])).outputs[0].originality is None


def _service() -> InferenceService:
    return InferenceService(settings=MagicMock(community_timeout_s=5.0), pool=MagicMock(), nc=MagicMock(),
                            catalog=MagicMock(), verifier=MagicMock(), executor=MagicMock())


def _publish(**extra: Any) -> c.OutputPublishRequest:
    return c.OutputPublishRequest.model_validate({"id": GEN, "index": 0, "title": "t", **extra})


@pytest.mark.parametrize(("near_copy", "ack", "published"), [
    (True, False, False), (True, True, True), (False, False, True), (None, False, True)])
async def test_a_near_copy_is_published_only_when_acknowledged(near_copy: bool | None, ack: bool,
                                                               published: bool) -> None:
    service = _service()
    service._own_output = AsyncMock(return_value=(_generation(), _output(near_copy)))  # type: ignore[method-assign]
    community = AsyncMock(return_value=orjson.dumps({"id": "w9"}))
    with patch("services.inference.generations.store.get_model", AsyncMock(return_value=None)), \
            patch("services.inference.generations.store.set_published_work", AsyncMock()), \
            patch("services.inference.generations.call_raw", community):
        body = _publish(acknowledge_near_copy=True) if ack else _publish()
        if published:
            assert (await service.publish("u1", body, None))["id"] == "w9"
        else:
            with pytest.raises(Unprocessable) as err:
                await service.publish("u1", body, None)
            assert err.value.errors and err.value.errors[0]["field"] == "acknowledge_near_copy"
            assert err.value.extra["originality"]["near_copy"] is True
    assert community.await_count == (1 if published else 0)  # nothing half-written on a refusal
