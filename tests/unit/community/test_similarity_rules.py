"""A human work using a near duplicate of another artist's work needs an acknowledgement."""

from __future__ import annotations

import pytest

from services.community.similarity_rules import check_similarity
from shared.errors import Conflict

PUBLIC = {"asset_id": "ORIG1", "work_id": "WORK1", "author_id": "ALICE", "distance": 2, "work_public": True}
UNLISTED = {"asset_id": "ORIG2", "work_id": "WORK2", "author_id": "CAROL", "distance": 4, "work_public": False}


def _reply(**originals: list[dict[str, object]]) -> dict[str, object]:
    return {"items": [{"id": asset_id, "near_duplicate_of": o} for asset_id, o in originals.items()]}


def test_a_near_duplicate_is_refused_as_human_work_naming_the_original_and_the_way_out() -> None:
    with pytest.raises(Conflict) as exc:
        check_similarity("human", _reply(COPY=[PUBLIC], MINE=[]), None)
    assert "WORK1" in exc.value.detail and "ALICE" in exc.value.detail and "acknowledge_similarity" in exc.value.detail
    assert exc.value.extra == {"reason": "near_duplicate", "acknowledge_with": {"acknowledge_similarity": True},
                               "originals": [{"asset_id": "COPY", "distance": 2, "original_work_id": "WORK1",
                                              "original_author_id": "ALICE"}]}


def test_an_unlisted_original_is_not_revealed() -> None:
    with pytest.raises(Conflict) as exc:
        check_similarity("human", _reply(COPY=[UNLISTED]), False)
    assert "WORK2" not in exc.value.detail and "CAROL" not in exc.value.detail and "ORIG2" not in exc.value.detail
    assert exc.value.extra is not None and exc.value.extra["originals"] == [{"asset_id": "COPY", "distance": 4}]


def test_acknowledged_is_accepted_and_recorded() -> None:
    assert check_similarity("human", _reply(COPY=[PUBLIC, UNLISTED]), True) is True


@pytest.mark.parametrize("origin", ["ai", "collab"])
def test_ai_and_collab_works_need_no_acknowledgement(origin: str) -> None:
    assert check_similarity(origin, _reply(COPY=[PUBLIC]), None) is False


def test_nothing_to_acknowledge_records_nothing() -> None:
    assert check_similarity("human", _reply(MINE=[]), True) is False
    assert check_similarity("human", {"items": [{"id": "OLD"}]}, None) is False  # an older assets answer
