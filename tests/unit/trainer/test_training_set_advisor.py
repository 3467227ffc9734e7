"""The advisor around the statistics, with its stores, RPCs and downloads replaced: only the owner
gets advice, withdrawn works and unreadable images are left out, features are computed once per asset."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from demo.art import png_bytes, render
from services.trainer import advice
from services.trainer.advice import Advisor
from services.trainer.consent_store import TrainingWorkRow
from services.trainer.settings import TrainerSettings
from services.trainer.store import ModelRow
from shared.contracts.trainer_advice import TrainingSetAdviceRequest
from shared.errors import NotFound

WORKS = {f"w{i}": [f"a{i}"] for i in range(8)}
IMAGES = {f"a{i}": png_bytes(render("dots", i, 64)) for i in range(6)} | {"a6": png_bytes(render("geometric", 11, 64)),
                                                                          "a7": b"not an image"}
MODEL = ModelRow(id="m1", owner_id="u1", name="Dots", architecture="vae", image_size=32, width=16,
                 work_ids=list(WORKS), collection_id=None, asset_ids=[a for v in WORKS.values() for a in v],
                 idempotency_key=None, created_at=datetime.now(UTC))


@pytest.fixture
def advisor(monkeypatch: pytest.MonkeyPatch) -> tuple[Advisor, list[str]]:
    downloads: list[str] = []

    async def get_model(_pool: Any, model_id: str) -> ModelRow | None:
        return MODEL if model_id == MODEL.id else None

    async def model_works(_pool: Any, _model_id: str) -> list[TrainingWorkRow]:
        return [TrainingWorkRow(work_id=w, author_id="u1", asset_ids=a) for w, a in WORKS.items()]

    async def withdrawn(_pool: Any, _model: ModelRow) -> list[str]:
        return ["w5"]

    async def call(_nc: Any, op: Any, payload: dict[str, Any], **_: Any) -> Any:
        assert op.name == "read_urls", op.name  # coverage is not asked for in these tests
        ids = [i for i in payload["ids"] if i != "a0"]  # a0 was deleted
        missing = ["a0"] if "a0" in payload["ids"] else []
        return SimpleNamespace(urls={i: f"http://s3/{i}" for i in ids}, missing=missing)

    monkeypatch.setattr(advice.store, "get_model", get_model)
    monkeypatch.setattr(advice.consent_store, "model_works", model_works)
    monkeypatch.setattr(advice.consent_store, "withdrawn_of_model", withdrawn)
    monkeypatch.setattr(advice, "call", call)
    found = Advisor(TrainerSettings(), pool=None, nc=None, http=None)  # type: ignore[arg-type]

    async def download(asset_id: str, url: str) -> bytes | None:
        downloads.append(asset_id)
        return IMAGES[asset_id]

    monkeypatch.setattr(found, "_download", download)
    return found, downloads


async def test_the_owner_gets_advice_without_withdrawn_or_unreadable_images(advisor: tuple[Advisor, list[str]]) -> None:
    adv, downloads = advisor
    answer = await adv.advise("u1", TrainingSetAdviceRequest(id="m1", kind="outlier"))
    # w5 withdrew its consent; a0 is deleted and a7 is no image: five images are analysed
    assert (answer.images, answer.analysed, sorted(answer.skipped), answer.candidates) == (7, 5, ["a0", "a7"], 0)
    assert [(i.kind, [im.work_id for im in i.images]) for i in answer.items] == [("outlier", ["w6"])]
    assert "w6" in answer.items[0].explanation and answer.method
    assert sorted(downloads) == ["a1", "a2", "a3", "a4", "a6", "a7"]
    again = await adv.advise("u1", TrainingSetAdviceRequest(id="m1", kind="near_duplicate"))
    assert again.items == [] and sorted(downloads) == ["a1", "a2", "a3", "a4", "a6", "a7", "a7"]  # cached but a7


async def test_someone_elses_model_is_a_404(advisor: tuple[Advisor, list[str]]) -> None:
    adv, downloads = advisor
    for actor, model in (("u2", "m1"), ("u1", "nope")):
        with pytest.raises(NotFound):
            await adv.advise(actor, TrainingSetAdviceRequest(id=model))
    assert downloads == []
