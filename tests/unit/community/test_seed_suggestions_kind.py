"""Suggestions of kind `model_seed`: the trainer's closest seeds become explained suggestions whose
`generate` body is a valid generation request, and a missing trainer answer leaves the kind out."""

from __future__ import annotations

from typing import Any

import pytest

from services.community import seed_suggestions
from services.community.store.suggestions import LikedWorkRow
from shared.contracts.community import Suggestion, SuggestionsQuery
from shared.contracts.inference import GenerationCreate
from shared.contracts.trainer_seeds import SeedSuggestion


def _answer(work_id: str, seed: int, rel: float, likes: int = 5) -> SeedSuggestion:
    return SeedSuggestion(model_id="01MODEL", model_name="Geometric", version=2, work_id=work_id, likes=likes,
                          seed=seed, distance=rel * 0.4, relative_distance=rel)


def test_each_answer_becomes_a_suggestion_with_a_ready_generation_body() -> None:
    out = seed_suggestions.model_seed_suggestions(
        [_answer("01A", 1234, 0.5), _answer("01B", 7, 3.0, likes=2)], {"01A": "Red circle", "01B": "Blue"}, "01A")
    assert [s["evidence"]["seed"] for s in out] == [1234, 7]
    first = Suggestion.model_validate(out[0])
    assert first.title == "Seed 1234 of 'Geometric' comes closest to 'Red circle' (your most-liked work)"
    assert "one of your most-liked works" in out[1]["title"]
    assert first.evidence["work_id"] == "01A" and first.evidence["likes"] == 5 and first.evidence["version"] == 2
    body = GenerationCreate.model_validate(out[0]["generate"])
    assert (body.model_id, body.version, body.mode, body.seed, body.count) == ("01MODEL", 2, "sample", 1234, 4)
    # closer is surer: 1 / (1 + r)
    assert first.confidence == pytest.approx(1 / 1.5, abs=1e-5) and out[1]["confidence"] == pytest.approx(0.25)
    assert seed_suggestions.confidence(0.0) == 1.0


def test_at_most_five_are_offered() -> None:
    out = seed_suggestions.model_seed_suggestions([_answer(f"0{i}", i, 1.0) for i in range(9)], {}, None)
    assert len(out) == seed_suggestions.MAX_SEED_SUGGESTIONS


class _Trainer:
    def __init__(self, answer: list[SeedSuggestion] | None) -> None:
        self.answer = answer
        self.asked: list[Any] = []

    async def seed_suggestions(self, user_id: str, works: list[tuple[str, int]]) -> list[SeedSuggestion] | None:
        self.asked.append((user_id, works))
        return self.answer


async def test_the_most_liked_works_are_asked_about_and_a_silent_trainer_leaves_the_kind_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [LikedWorkRow("01A", "Red circle", 9), LikedWorkRow("01B", "Blue", 3)]
    seen: list[tuple[int, int]] = []

    async def liked(conn: Any, author_id: str, min_likes: int, limit: int) -> list[LikedWorkRow]:
        seen.append((min_likes, limit))
        return rows

    monkeypatch.setattr(seed_suggestions.store, "most_liked_works", liked)
    trainer = _Trainer([_answer("01A", 3, 0.2, likes=9)])
    out = await seed_suggestions.for_artist(None, trainer, "01USER")  # type: ignore[arg-type]
    assert trainer.asked == [("01USER", [("01A", 9), ("01B", 3)])] and seen == [(2, 5)]
    assert [s["title"] for s in out] == ["Seed 3 of 'Geometric' comes closest to 'Red circle' (your most-liked work)"]
    assert await seed_suggestions.for_artist(None, _Trainer(None), "01USER") == []  # type: ignore[arg-type]
    assert await seed_suggestions.for_artist(None, None, "01USER") == []  # type: ignore[arg-type]


async def test_no_liked_works_means_no_trainer_call(monkeypatch: pytest.MonkeyPatch) -> None:
    async def none(*_: Any) -> list[LikedWorkRow]:
        return []

    monkeypatch.setattr(seed_suggestions.store, "most_liked_works", none)
    trainer = _Trainer([_answer("01A", 3, 0.2)])
    assert await seed_suggestions.for_artist(None, trainer, "01USER") == [] and trainer.asked == []  # type: ignore[arg-type]


def test_the_kind_is_a_query_value_and_unknown_kinds_are_refused() -> None:
    assert SuggestionsQuery.model_validate({"kind": "model_seed"}).kind == "model_seed"
    with pytest.raises(ValueError):
        SuggestionsQuery.model_validate({"kind": "seeds"})


def test_a_closer_direction_comes_with_a_ready_edit_body() -> None:
    answer = _answer("01A", 12, 1.0).model_copy(update={"direction": 3, "amount": -2.0, "edited_distance": 0.1})
    out = seed_suggestions.model_seed_suggestions([answer, _answer("01B", 5, 1.0)], {"01A": "Red"}, "01A")
    edit = GenerationCreate.model_validate(out[0]["generate_edit"])
    assert (edit.mode, edit.seed, edit.direction, edit.amount, edit.count) == ("edit", 12, 3, -2.0, 4)
    assert out[0]["evidence"]["direction"] == 3 and "direction 3 by -2" in out[0]["explanation"]
    assert Suggestion.model_validate(out[0]).generate_edit is not None
    assert out[1]["generate_edit"] is None and "direction" not in out[1]["evidence"]
