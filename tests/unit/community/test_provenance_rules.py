"""What an upload's declared C2PA provenance lets a work claim."""

from __future__ import annotations

import pytest

from services.community import provenance_rules as rules
from shared.errors import Unprocessable


def _reply(**declared: dict[str, object] | None) -> dict[str, object]:
    return {"items": [{"id": asset_id, "declared": d} for asset_id, d in declared.items()]}


AI = {"source_types": ["trainedAlgorithmicMedia"], "ai_generated": True, "training_allowed": False, "uses": {}}
CAMERA = {"source_types": ["digitalCapture"], "ai_generated": False, "training_allowed": None, "uses": {}}


def test_an_ai_source_type_cannot_be_human_work_and_names_the_asset() -> None:
    with pytest.raises(Unprocessable) as exc:
        rules.check_origin("human", _reply(A1=AI, A2=None))
    assert "A1" in exc.value.detail and "trainedAlgorithmicMedia" in exc.value.detail
    assert exc.value.extra == {"reason": "c2pa_ai_source", "asset_ids": ["A1"]}


@pytest.mark.parametrize("origin", ["ai", "collab"])
def test_ai_and_collab_accept_an_ai_source_type(origin: str) -> None:
    rules.check_origin(origin, _reply(A1=AI))


def test_a_camera_or_absent_manifest_may_be_human_work() -> None:
    rules.check_origin("human", _reply(A1=CAMERA, A2=None))


def test_only_a_declared_refusal_pins_training() -> None:
    assert rules.training_pinned(_reply(A1=AI, A2=CAMERA, A3=None)) == ["A1"]
    with pytest.raises(Unprocessable) as exc:
        rules.refuse_training(["A1"])
    assert exc.value.extra["reason"] == "c2pa_do_not_train"
