"""The inference service against the real stack and Triton, driven over NATS as other services do:
a new version rolls out while generations flow, redelivered jobs do no work twice, completed
events go out once, unservable exports are refused, and the trainer gets top-rated outputs.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from minio import Minio

from shared.contracts import inference as c
from shared.contracts.events.catalog import GenerateJob, ModelQueued, TrainingCanceled, TrainingFailed
from shared.contracts.events.envelope import make_event
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.messaging.publisher import publish_event
from shared.messaging.rpc import call_raw
from tests.support.streams import stored_events, wait_outbox_relayed
from tests.support.style_models import announce_trained, tiny_generator_onnx, upload_model


async def _rpc(nc: Any, op: Any, payload: Any, *, timeout: float, actor_id: str | None = None) -> Any:
    """Call an inference operation as other services do; the answer as plain JSON."""
    return orjson.loads(await call_raw(nc, op, payload, timeout=timeout, actor_id=actor_id))


def _minio(endpoints: Any) -> Minio:
    return Minio(endpoints.s3_endpoint, access_key=endpoints.s3_access_key, secret_key=endpoints.s3_secret_key,
                 secure=False)


async def _model(endpoints: Any, js: Any, owner: str, version: int, onnx: bytes, model_id: str | None = None,
                 image_size: int = 32) -> str:
    model_id = model_id or new_id()
    await asyncio.to_thread(upload_model, _minio(endpoints), endpoints.s3_bucket, model_id, version, onnx)
    await announce_trained(js, model_id, owner, version, image_size=image_size)
    return model_id


async def _create(nc: Any, owner: str, body: dict[str, Any], timeout_s: float = 30.0) -> dict[str, Any]:
    """generations.create, retrying while the announced model is still loading (404/409)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            return await _rpc(nc, c.GENERATIONS_CREATE, body, timeout=10, actor_id=owner)  # type: ignore[no-any-return]
        except (NotFound, Conflict):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _done(nc: Any, owner: str, generation_id: str, timeout_s: float = 30.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        got = await _rpc(nc, c.GENERATIONS_GET, {"id": generation_id}, timeout=10, actor_id=owner)
        if got["status"] in ("succeeded", "failed"):
            return got  # type: ignore[no-any-return]
        assert asyncio.get_running_loop().time() < deadline, got
        await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
def onnx_models() -> dict[int, bytes]:
    return {seed: tiny_generator_onnx(seed) for seed in (11, 12)}


async def test_a_new_version_rolls_out_while_generations_flow_without_failures(  # type: ignore[no-untyped-def]
        platform, endpoints, nc, js, onnx_models) -> None:
    owner = new_id()
    model_id = await _model(endpoints, js, owner, 1, onnx_models[11])
    await _done(nc, owner, (await _create(nc, owner, {"model_id": model_id, "count": 1}))["id"])
    stop = asyncio.Event()
    made: list[str] = []
    finished: list[dict[str, Any]] = []

    async def client() -> None:
        while not stop.is_set():
            accepted = await _rpc(nc, c.GENERATIONS_CREATE, {"model_id": model_id, "count": 2},
                                      timeout=10, actor_id=owner)
            made.append(accepted["id"])
            finished.append(await _done(nc, owner, accepted["id"]))

    async def until_finished(version: int, count: int, timeout_s: float = 90.0) -> None:
        """Let the clients run until `count` of their generations finished on `version` (however
        slow the machine), or one of them gave up, or the deadline; the assertions below judge."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while (sum(r.get("version") == version for r in finished) < count
               and asyncio.get_running_loop().time() < deadline):
            crashed, _ = await asyncio.wait(clients, timeout=0.1, return_when=asyncio.FIRST_COMPLETED)
            if crashed:
                return

    clients = [asyncio.create_task(client()) for _ in range(4)]
    await until_finished(1, 4)  # generations flow on v1 ...
    await _model(endpoints, js, owner, 2, onnx_models[12], model_id=model_id)  # ... when v2 rolls out
    v2 = await _done(nc, owner, (await _create(nc, owner, {"model_id": model_id, "version": 2, "count": 1}))["id"])
    await until_finished(2, 4)  # requests without a version now go to v2, while v1 is still loaded
    stop.set()
    await asyncio.gather(*clients)
    results = [await _done(nc, owner, g) for g in made]
    assert len(results) >= 8
    assert [r["id"] for r in results if r["status"] != "succeeded"] == []
    assert {r["version"] for r in results} == {1, 2}
    assert v2["status"] == "succeeded"
    # The two versions are different generators: same seed, different pixels.
    same_seed = [await _done(nc, owner, (await _create(nc, owner, {"model_id": model_id, "version": v,
                                                                   "count": 1, "seed": 3}))["id"]) for v in (1, 2)]
    assert same_seed[0]["outputs"][0]["image_sha256"] != same_seed[1]["outputs"][0]["image_sha256"]


async def test_a_redelivered_job_does_no_work_twice_and_completes_once(  # type: ignore[no-untyped-def]
        platform, endpoints, nc, js, onnx_models) -> None:
    owner = new_id()
    model_id = await _model(endpoints, js, owner, 1, onnx_models[11])
    generation = await _done(nc, owner, (await _create(nc, owner, {"model_id": model_id, "count": 2}))["id"])
    assert generation["status"] == "succeeded"
    duplicate = make_event(GenerateJob(generation_id=generation["id"], owner_id=owner), service="tests",
                           subject_id=generation["id"])
    await publish_event(js, duplicate, timeout=5.0)
    await _jobs_drained(js)  # the worker took it and acked it
    again = await _done(nc, owner, generation["id"])
    assert again["outputs"] == generation["outputs"]

    completed = await _events(js, endpoints, "inference.generation.completed", generation["id"])
    assert len(completed) == 1
    data = completed[0]["data"]
    assert data["owner_id"] == owner and data["model_id"] == model_id and data["version"] == 1
    assert [(o["index"], o["asset_id"]) for o in data["outputs"]] == [
        (o["index"], o["asset_id"]) for o in generation["outputs"]]


async def test_an_export_that_cannot_be_served_is_refused_with_409(platform, endpoints, nc, js) -> None:  # type: ignore[no-untyped-def]
    owner = new_id()
    model_id = await _model(endpoints, js, owner, 1, b"this is not an onnx file")
    for _ in range(300):
        try:
            await _rpc(nc, c.GENERATIONS_CREATE, {"model_id": model_id, "version": 1},
                           timeout=10, actor_id=owner)
        except NotFound:  # the event has not been handled yet
            pass
        except Conflict as exc:
            if "cannot be served" in exc.detail:
                return
            assert "not ready yet" in exc.detail  # being loaded (and found broken) right now
        else:
            pytest.fail("an unservable version was accepted")
        await asyncio.sleep(0.1)
    pytest.fail("the model event was never handled")


async def test_top_rated_outputs_for_refine(platform, endpoints, nc, js, onnx_models) -> None:  # type: ignore[no-untyped-def]
    owner, other = new_id(), new_id()
    model_id = await _model(endpoints, js, owner, 1, onnx_models[11])
    mine = await _done(nc, owner, (await _create(nc, owner, {"model_id": model_id, "count": 3, "seed": 40}))["id"])
    for index, score in ((0, 3), (1, 5), (2, 4)):
        await _rpc(nc, c.OUTPUTS_RATE, {"id": mine["id"], "index": index, "score": score},
                       timeout=10, actor_id=owner)
    with pytest.raises(NotFound):  # someone else's generation
        await _rpc(nc, c.OUTPUTS_RATE, {"id": mine["id"], "index": 0, "score": 5},
                       timeout=10, actor_id=other)
    top = await _rpc(nc, c.RATINGS_TOP, {"model_id": model_id, "min_score": 4}, timeout=10)
    assert [(t["index"], t["score"], t["seed"]) for t in top] == [(1, 5, 41), (2, 4, 42)]
    assert top[0]["asset_id"] == mine["outputs"][1]["asset_id"] and top[0]["generation_id"] == mine["id"]
    with pytest.raises(NotFound):
        await _rpc(nc, c.RATINGS_TOP, {"model_id": new_id()}, timeout=10)


async def _events(js: Any, endpoints: Any, subject: str, generation_id: str) -> list[dict[str, Any]]:
    """Every `subject` event about the generation on the stream, once inference's outbox has
    relayed everything it committed (duplicates included)."""
    await wait_outbox_relayed(endpoints.database_url, "inference")
    return [e for e in await stored_events(js, subject) if e["subject"] == generation_id]


async def _jobs_drained(js: Any, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    await asyncio.sleep(0.2)
    while True:
        info = await js.consumer_info("JOBS", "inference-generate")
        if not info.num_pending and not info.num_ack_pending:
            return
        assert asyncio.get_running_loop().time() < deadline, "the duplicate job was never acked"
        await asyncio.sleep(0.1)


async def test_a_model_whose_training_failed_or_was_canceled_says_so(platform, nc, js) -> None:  # type: ignore[no-untyped-def]
    owner = new_id()
    for ending, reason in ((TrainingFailed, "training failed: out of memory"), (TrainingCanceled, "canceled")):
        model_id = new_id()
        queued = ModelQueued(model_id=model_id, owner_id=owner, version=1, name="m", architecture="dcgan",
                             image_size=32, total_steps=10)
        extra = {"error": "out of memory"} if ending is TrainingFailed else {}
        for payload in (queued, ending(model_id=model_id, owner_id=owner, version=1, **extra)):
            await publish_event(js, make_event(payload, service="trainer", subject_id=model_id), timeout=5)
        for _ in range(300):
            try:
                await _rpc(nc, c.GENERATIONS_CREATE, {"model_id": model_id}, timeout=10,
                               actor_id=owner)
            except NotFound:  # the queued event has not been handled yet
                pass
            except Conflict as exc:
                if reason in exc.detail:
                    break
                assert "no trained version yet" in exc.detail, exc.detail  # the ending is on its way
            else:
                pytest.fail("a model without a trained version was accepted")
            await asyncio.sleep(0.1)
        else:
            pytest.fail(f"the {ending.__name__} event never reached the model's status")
