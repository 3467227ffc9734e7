"""The inference contract: every declared operation is served, answers match their response models,
and the gateway's routes reach the right operation (a non-number output index is a 404)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from unittest.mock import MagicMock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from services.gateway.routes import inference as routes
from services.gateway.settings import GatewaySettings
from services.inference import rpc
from services.inference.generations import generation_view
from services.inference.store import GenerationRow, OutputRow, RatedOutputRow
from shared.contracts import inference as c
from shared.messaging.rpc import RpcServer

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _generation(status: str = "succeeded", error: str | None = None) -> GenerationRow:
    return GenerationRow(id="01J9ZC7A0000000000000GENER", owner_id="u1", model_id="m1", version=2, mode="variations",
                         count=1, seed=7, params={"base_seed": 1, "strength": 0.5}, status=status, error=error,
                         watermark_id=None, idempotency_key=None, attempts=1, created_at=NOW, started_at=NOW,
                         finished_at=NOW if status in ("succeeded", "failed") else None)


def _output() -> OutputRow:
    return OutputRow(generation_id="01J9ZC7A0000000000000GENER", index=0, asset_id="a1", seed=7, image_sha256="ab",
                     signed_sha256="cd", width=32, height=32, score=None, rated_at=None, created_at=NOW)


def test_every_declared_operation_is_served() -> None:
    server = RpcServer(MagicMock(), c.SERVICE)
    rpc.register(server, MagicMock())
    assert server.missing() == []
    assert server.operations == sorted(op.name for op in (
        c.GENERATIONS_CREATE, c.GENERATIONS_GET, c.GENERATIONS_CANCEL, c.GENERATIONS_LIST, c.OUTPUTS_RATE,
        c.OUTPUTS_PUBLISH,
        c.PROVENANCE_VERIFY, c.RATINGS_TOP))


def test_a_generation_view_is_what_its_contract_describes() -> None:
    view = generation_view(_generation(), [_output()])
    parsed = c.Generation.model_validate(view)
    assert parsed.outputs[0].content_url == "/v1/assets/a1/content"
    assert parsed.params == {"base_seed": 1, "strength": 0.5}
    assert "error" not in view  # only failed generations say why
    failed = generation_view(_generation("failed", "the generator failed"), [])
    assert c.Generation.model_validate(failed).error == "the generator failed"


def test_top_rated_outputs_stay_a_json_array() -> None:
    row = RatedOutputRow(generation_id="g", index=1, asset_id="a", score=5, seed=3, version=2, likes=0)
    liked = RatedOutputRow(generation_id="g", index=2, asset_id="b", score=None, seed=4, version=2, likes=3)
    answer = c.TopRatedOutputs.model_validate([asdict(row), asdict(liked)])
    assert answer.model_dump(mode="json") == [
        {"generation_id": "g", "index": 1, "asset_id": "a", "score": 5, "seed": 3, "version": 2, "likes": 0},
        {"generation_id": "g", "index": 2, "asset_id": "b", "score": None, "seed": 4, "version": 2, "likes": 3}]


@pytest.mark.parametrize(("path", "found"), [
    ("/v1/generations/g1/outputs/3/rating", True),
    ("/v1/generations/g1/outputs/9999/rating", True),
    ("/v1/generations/g1/outputs/abc/rating", False),
    ("/v1/generations/g1/outputs/-1/rating", False),
    ("/v1/generations/g1/outputs/12345/rating", False),
])
async def test_an_output_index_must_be_a_short_number(path: str, found: bool) -> None:
    app = web.Application()
    routes.setup(app, GatewaySettings())
    match = await app.router.resolve(make_mocked_request("PUT", path, app=app))
    if found:
        assert match.http_exception is None and match["index"] == path.split("/")[5]
    else:
        assert isinstance(match.http_exception, web.HTTPNotFound)
