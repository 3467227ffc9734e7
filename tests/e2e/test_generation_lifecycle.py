"""A generation users can follow, through the gateway against the real platform: its queue position
falls while it waits, images arrive on the WebSocket one by one, a queued or running generation can
be canceled, a user's queue is limited, and a version the trainer has recorded as trained is served
even before its `trainer.model.trained` event reached the inference service.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from minio import Minio

from services.trainer import store as trainer_store
from shared.db import create_pool
from shared.ids import new_id
from shared.settings import DatabaseSettings
from tests.e2e.test_inference_generations import signup, trained_model, wait_done
from tests.support.style_models import announce_queued, announce_trained, tiny_generator_onnx, upload_model

FINISHED = ("succeeded", "failed", "canceled")


@dataclass
class Answer:
    status: int
    content_type: str
    headers: Any
    body: Any


async def post(http: aiohttp.ClientSession, user: dict[str, Any], body: dict[str, Any]) -> Answer:
    async with http.post("/v1/generations", json=body, headers=user["headers"]) as resp:
        return Answer(resp.status, resp.content_type, resp.headers, await resp.json(content_type=None))


async def accepted(http: aiohttp.ClientSession, user: dict[str, Any], body: dict[str, Any],
                   timeout_s: float = 30.0) -> str:
    """POST until the just-announced model is usable (404/409 meanwhile); the generation id."""
    deadline = time.monotonic() + timeout_s
    while True:
        async with http.post("/v1/generations", json=body, headers=user["headers"]) as resp:
            if resp.status == 202:
                return str((await resp.json())["id"])
            assert resp.status in (404, 409), await resp.text()
        assert time.monotonic() < deadline, "the model never became usable"
        await asyncio.sleep(0.2)


async def get(http: aiohttp.ClientSession, user: dict[str, Any], generation_id: str) -> dict[str, Any]:
    async with http.get(f"/v1/generations/{generation_id}", headers=user["headers"]) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()  # type: ignore[no-any-return]


async def cancel(http: aiohttp.ClientSession, user: dict[str, Any], generation_id: str) -> tuple[int, dict[str, Any]]:
    async with http.post(f"/v1/generations/{generation_id}/cancel", headers=user["headers"]) as resp:
        return resp.status, await resp.json(content_type=None)


async def until_finished(http: aiohttp.ClientSession, user: dict[str, Any], ids: list[str],
                         timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    for generation_id in ids:
        while (await get(http, user, generation_id))["status"] not in FINISHED:
            assert time.monotonic() < deadline, f"{generation_id} never finished"
            await asyncio.sleep(0.2)


async def fill_queue(http: aiohttp.ClientSession, endpoints: Any, js: Any, users: int = 3, each: int = 6,
                     ) -> tuple[list[tuple[dict[str, Any], str]], str, dict[str, Any]]:
    """Several users' slow generations (count 16, 128 px) ahead of whatever is posted next."""
    owner = await signup(http)
    model_id = await trained_model(endpoints, js, owner["id"], image_size=128, visibility="public")
    await wait_done(http, owner, await accepted(http, owner, {"model_id": model_id, "count": 1}),
                    time.monotonic() + 60)  # loaded, and one generation timed (the ETA needs one)
    ahead: list[tuple[dict[str, Any], str]] = []
    for _ in range(users):
        user = await signup(http)
        for _ in range(each):
            ahead.append((user, await accepted(http, user, {"model_id": model_id, "count": 16})))
    return ahead, model_id, owner


async def subscribe(http: aiohttp.ClientSession, user: dict[str, Any]) -> aiohttp.ClientWebSocketResponse:
    token = user["headers"]["Authorization"].removeprefix("Bearer ")
    ws = await http.ws_connect("/v1/events", protocols=("atelier.v1", f"bearer.{token}"))
    await ws.send_json({"subscribe": ["me"]})
    while "subscribed" not in (doc := await ws.receive_json(timeout=10)):
        assert "error" not in doc, doc
    return ws


async def events_until(ws: aiohttp.ClientWebSocketResponse, generation_id: str, last: str,
                       timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """This generation's events, in the order received, up to the first of type `last`."""
    deadline = time.monotonic() + timeout_s
    got: list[dict[str, Any]] = []
    while True:
        doc = json.loads((await ws.receive(timeout=max(0.1, deadline - time.monotonic()))).data)
        if "specversion" in doc and doc["data"].get("generation_id") == generation_id:
            got.append(doc)
            if doc["type"] == f"atelier.{last}":
                return got


async def test_images_arrive_one_by_one_on_the_websocket(http: aiohttp.ClientSession, endpoints: Any,
                                                         js: Any) -> None:
    user = await signup(http)
    model_id = await trained_model(endpoints, js, user["id"])
    await wait_done(http, user, await accepted(http, user, {"model_id": model_id, "count": 1}), time.monotonic() + 30)
    ws = await subscribe(http, user)
    try:
        generation_id = await accepted(http, user, {"model_id": model_id, "count": 6})
        events = await events_until(ws, generation_id, "inference.generation.completed")
    finally:
        await ws.close()
    progress = [e["data"] for e in events if e["type"] == "atelier.inference.generation.progress"]
    assert events[-1]["type"] == "atelier.inference.generation.completed"
    assert sorted(p["index"] for p in progress) == list(range(6))  # one per output, before the completion
    done = await get(http, user, generation_id)
    assert {p["index"]: p["asset_id"] for p in progress} == {o["index"]: o["asset_id"] for o in done["outputs"]}
    assert all(p["count"] == 6 and p["owner_id"] == user["id"] for p in progress)


async def test_the_queue_position_falls_while_waiting_and_a_queued_generation_cancels_at_once(
        http: aiohttp.ClientSession, endpoints: Any, js: Any) -> None:
    ahead, model_id, _ = await fill_queue(http, endpoints, js)
    me = await signup(http)
    mine = await accepted(http, me, {"model_id": model_id, "count": 2})
    doomed = await accepted(http, me, {"model_id": model_id, "count": 2})
    status, body = await cancel(http, me, doomed)  # still queued behind the others
    assert (status, body) == (200, {"id": doomed, "status": "canceled", "outputs_made": 0})
    positions: list[int] = []
    etas: list[float] = []
    deadline = time.monotonic() + 180
    while (seen := await get(http, me, mine))["status"] == "queued":
        positions.append(seen["queue_position"])
        etas.append(seen["eta_s"])
        assert time.monotonic() < deadline, "it never started"
        await asyncio.sleep(0.1)
    assert len(positions) >= 2 and positions[0] > 1
    assert positions == sorted(positions, reverse=True), positions  # never moves back
    assert positions[-1] < positions[0]
    assert all(isinstance(e, float | int) and e > 0 for e in etas)
    assert (await wait_done(http, me, mine, time.monotonic() + 120))["status"] == "succeeded"
    for user, generation_id in ahead:
        await until_finished(http, user, [generation_id])
    canceled = await get(http, me, doomed)  # everything before it ran; it never did
    assert canceled["status"] == "canceled" and canceled["outputs"] == []
    assert canceled.get("queue_position") is None and canceled["finished_at"] is not None
    assert (await cancel(http, me, doomed))[0] == 409


async def test_a_running_generation_canceled_makes_no_more_outputs(http: aiohttp.ClientSession, endpoints: Any,
                                                                  js: Any) -> None:
    user = await signup(http)
    model_id = await trained_model(endpoints, js, user["id"], image_size=128)
    await wait_done(http, user, await accepted(http, user, {"model_id": model_id, "count": 1}), time.monotonic() + 60)
    ws = await subscribe(http, user)
    try:
        for _attempt in range(3):  # the machine may finish all 16 before the cancel lands: try again
            generation_id = await accepted(http, user, {"model_id": model_id, "count": 16})
            deadline = time.monotonic() + 60
            while not (await get(http, user, generation_id))["outputs"]:  # running, outputs landing
                assert time.monotonic() < deadline, "no output ever landed"
                await asyncio.sleep(0.02)
            status, body = await cancel(http, user, generation_id)
            if status == 200:
                break
            assert status == 409 and body["generation_status"] == "succeeded", body
        else:
            raise AssertionError("every generation finished before its cancel")
        events = await events_until(ws, generation_id, "inference.generation.canceled")
    finally:
        await ws.close()
    assert body["status"] == "canceled" and 1 <= body["outputs_made"] < 16
    assert events[-1]["data"]["outputs_made"] == body["outputs_made"]
    await asyncio.sleep(3)  # the worker notices at its next output and stops
    after = await get(http, user, generation_id)
    assert after["status"] == "canceled"
    assert len(after["outputs"]) == body["outputs_made"] < 16  # nothing made after the cancel
    assert (await cancel(http, user, generation_id))[0] == 409


async def test_a_users_queue_is_limited_with_429_and_retry_after(http: aiohttp.ClientSession, endpoints: Any,
                                                                 js: Any) -> None:
    ahead, model_id, _ = await fill_queue(http, endpoints, js, users=2, each=4)  # keeps the workers busy
    me = await signup(http)
    mine: list[str] = []
    for _ in range(40):
        resp = await post(http, me, {"model_id": model_id, "count": 16})
        if resp.status != 202:
            break
        mine.append(str(resp.body["id"]))
    assert resp.status == 429
    assert resp.content_type == "application/problem+json"
    problem = resp.body
    assert problem["limit"] == len(mine) and problem["status"] == 429  # every accepted one still unfinished
    assert int(resp.headers["Retry-After"]) >= 1
    for generation_id in mine:
        assert (await cancel(http, me, generation_id))[0] == 200
    assert (await post(http, me, {"model_id": model_id, "count": 1})).status == 202  # room again
    for user, generation_id in ahead:
        await cancel(http, user, generation_id)


async def test_cancel_refuses_someone_elses_an_unknown_and_a_finished_generation(
        http: aiohttp.ClientSession, endpoints: Any, js: Any) -> None:
    owner, stranger = await signup(http), await signup(http)
    model_id = await trained_model(endpoints, js, owner["id"])
    done = await wait_done(http, owner, await accepted(http, owner, {"model_id": model_id, "count": 1}),
                           time.monotonic() + 30)
    status, problem = await cancel(http, stranger, done["id"])
    assert status == 404 and problem["status"] == 404
    assert (await cancel(http, owner, new_id()))[0] == 404
    assert (await cancel(http, owner, "not-a-ulid"))[0] == 404
    status, problem = await cancel(http, owner, done["id"])
    assert status == 409 and "succeeded" in problem["detail"]
    assert (await get(http, owner, done["id"]))["status"] == "succeeded"  # untouched


async def test_a_version_the_trainer_recorded_as_trained_is_served_before_its_event_arrives(
        http: aiohttp.ClientSession, endpoints: Any, js: Any) -> None:
    owner = await signup(http)
    model_id, version = new_id(), 1
    client = Minio(endpoints.s3_endpoint, access_key=endpoints.s3_access_key, secret_key=endpoints.s3_secret_key,
                   secure=False)
    path = await asyncio.to_thread(upload_model, client, endpoints.s3_bucket, model_id, version,
                                   tiny_generator_onnx(5))
    # Inference heard the training was queued, not that it ended: without the trainer's record, a 409.
    await announce_queued(js, model_id, owner["id"], version)
    deadline = time.monotonic() + 30
    while (resp := await post(http, owner, {"model_id": model_id, "version": version, "count": 2})).status == 404:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)
    assert resp.status == 409
    # The trainer records the version as trained; its event is still in flight (not published here).
    pool = await create_pool(DatabaseSettings(database_url=endpoints.database_url), schema="trainer")
    try:
        async with pool.acquire() as conn, conn.transaction():
            await trainer_store.insert_model(conn, {
                "id": model_id, "owner_id": owner["id"], "name": "race", "architecture": "dcgan", "image_size": 32,
                "width": 32, "work_ids": [new_id()], "asset_ids": [new_id()]})
            job = await trainer_store.insert_job(conn, {"id": new_id(), "model_id": model_id, "owner_id": owner["id"],
                                                        "version": version, "kind": "train", "steps": 1,
                                                        "batch_size": 1})
            await trainer_store.finish(conn, job.id, "succeeded", step=1)
            await trainer_store.insert_version(conn, {
                "model_id": model_id, "version": version, "job_id": job.id, "steps": 1, "metrics": {"swd": 1.0},
                "dataset_sha256": "0" * 64, "repository_path": path})
    finally:
        await pool.close()
    async with http.get(f"/v1/models/{model_id}", headers=owner["headers"]) as told:
        assert told.status == 200 and (await told.json())["status"] == "succeeded"  # what the user is told
    resp = await post(http, owner, {"model_id": model_id, "version": version, "count": 2})
    assert resp.status == 202, resp.body  # at once: no retrying through a 409
    generation_id = str(resp.body["id"])
    done = await wait_done(http, owner, generation_id, time.monotonic() + 60)
    assert done["status"] == "succeeded" and len(done["outputs"]) == 2
    # A request without a version takes it too, and the late event changes nothing.
    resp = await post(http, owner, {"model_id": model_id, "count": 1})
    assert resp.status == 202, resp.body
    await announce_trained(js, model_id, owner["id"], version)
    later = await wait_done(http, owner, str(resp.body["id"]), time.monotonic() + 60)
    assert later["status"] == "succeeded" and later["version"] == version
    # Someone else's model is not revealed by the trainer's record either.
    stranger = await signup(http)
    assert (await post(http, stranger, {"model_id": model_id, "version": version})).status == 404
