"""Style models through the gateway: an artist uploads procedural works of one style, consents,
trains a model and watches it learn (progress events, sample grids, SWD below the untrained
model's), gets an ONNX export that matches torch, refines it with a rated generation, cancels,
and is refused works without consent. Killing the training process mid-run makes the redelivered
job resume from its checkpoint.

Tiny configurations (32 px, width 16, tens of steps) keep each training run to seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import numpy as np
import onnxruntime as ort
import pytest
import torch
from minio import Minio

from services.trainer.models import ConvVAE
from services.trainer.training import Checkpoint
from tests.support.artists import STYLE, TINY, WAIT_S, Artist, artist, generate
from tests.support.streams import stored_events, wait_outbox_relayed


@pytest.fixture
async def db(endpoints: Any) -> Any:
    conn = await asyncpg.connect(endpoints.database_url)
    try:
        yield conn
    finally:
        await conn.close()


def _minio(endpoints: Any) -> Minio:
    return Minio(endpoints.s3_endpoint, access_key=endpoints.s3_access_key, secret_key=endpoints.s3_secret_key,
                 secure=False)


def _read(endpoints: Any, key: str) -> bytes:
    resp = _minio(endpoints).get_object(endpoints.s3_bucket, key)
    try:
        return resp.read()
    finally:
        resp.close()
        resp.release_conn()


async def trainer_events(js: Any, endpoints: Any, model_id: str) -> list[dict[str, Any]]:
    """Every trainer.* event about `model_id` stored on the TRAINER stream, in order, once the
    trainer's outbox has relayed what it committed with the model's current status."""
    await wait_outbox_relayed(endpoints.database_url, "trainer")
    return [e for e in await stored_events(js, "trainer.>") if e["data"].get("model_id") == model_id]


@pytest.fixture(scope="module")
async def trained(gateway_url: str) -> Any:
    """One artist, 16 consented works of one style, and a model trained on them (shared by tests)."""
    async with aiohttp.ClientSession(base_url=gateway_url, timeout=aiohttp.ClientTimeout(total=60)) as session:
        mira = await artist(session)
        works = [await mira.work(STYLE, seed) for seed in range(16)]
        accepted = await mira.call("POST", "/v1/models", 202, json={
            "name": "Blobs", "work_ids": works, "steps": 100, **TINY})
        model = await mira.wait(accepted["id"], ("succeeded",))
        yield {"accepted": accepted, "model": model, "token": mira.headers, "works": works}


async def test_a_consented_style_trains_to_an_export_that_matches_torch(
        trained, endpoints, js) -> None:  # type: ignore[no-untyped-def]
    accepted, model = trained["accepted"], trained["model"]
    assert accepted["status"] == "queued" and accepted["versions"] == []

    # Progress arrived on the way, with sample grids stored as the owner's assets.
    events = await trainer_events(js, endpoints, model["id"])
    kinds = [e["type"] for e in events]
    assert kinds[0] == "atelier.trainer.model.queued" and kinds[-1] == "atelier.trainer.model.trained", kinds
    progress = [e["data"] for e in events if e["type"] == "atelier.trainer.training.progress"]
    steps = [p["step"] for p in progress]
    assert len(progress) >= 3 and steps == sorted(steps) and steps[-1] == 100, steps
    assert all(set(p["losses"]) == {"loss", "recon", "kl"} and p["total_steps"] == 100 for p in progress)
    sample_ids = [p["sample_asset_id"] for p in progress if p.get("sample_asset_id")]
    assert len(sample_ids) >= 2 and set(sample_ids) <= set(model["samples"])

    # The version's metrics show learning: closer to the works than the untrained model.
    (version,) = model["versions"]
    metrics = version["metrics"]
    assert metrics["swd"] < 0.8 * metrics["swd_untrained"], metrics
    assert metrics["recon_error"] < 0.3 * metrics["recon_error_untrained"], metrics
    assert len(version["dataset_sha256"]) == 64 and model["progress"]["step"] == 100
    assert model["status"] == "succeeded" and model["latest_version"] == 1

    # The export in the model repository reproduces the trained decoder.
    onnx = await asyncio.to_thread(_read, endpoints, f"models/{model['id']}/1/model.onnx")
    config = (await asyncio.to_thread(_read, endpoints, f"models/{model['id']}/config.pbtxt")).decode()
    assert f'name: "{model["id"]}"' in config and "dims: [ 3, 32, 32 ]" in config and "dynamic_batching" in config
    final = Checkpoint.from_bytes(await asyncio.to_thread(_read, endpoints, f"checkpoints/{model['id']}/1/final.pt"))
    vae = ConvVAE(32, 16)
    vae.load_state_dict(final.state["models"]["vae"])
    z = np.random.default_rng(7).standard_normal((3, 128)).astype(np.float32)
    (got,) = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"]).run(["image"], {"z": z})
    with torch.no_grad():
        want = vae.decoder.eval()(torch.from_numpy(z)).numpy()
    assert got.shape == (3, 3, 32, 32) and np.abs(got - want).max() < 1e-4
    trained_event = next(e for e in events if e["type"] == "atelier.trainer.model.trained")["data"]
    assert trained_event["repository_path"] == f"models/{model['id']}/1/" and trained_event["metrics"] == metrics


async def test_the_version_holds_out_works_and_ships_directions_and_originality(
        trained, http, endpoints, js) -> None:  # type: ignore[no-untyped-def]
    model, works = trained["model"], trained["works"]
    metrics = model["versions"][0]["metrics"]
    # 16 works: every 5th (in sha256 order) is held out of training and measured against.
    assert (metrics["train_works"], metrics["heldout_works"]) == (12, 4), metrics
    assert metrics["swd_heldout"] < metrics["swd_heldout_untrained"], metrics
    assert 0 <= metrics["precision"] <= 1 and 0 <= metrics["recall"] <= 1 and 0 <= metrics["recall_heldout"] <= 1
    assert metrics["memorisation_originality_median"] > 0 and 0 <= metrics["memorisation_near_copy_fraction"] <= 1
    trained_event = next(e for e in await trainer_events(js, endpoints, model["id"])
                         if e["type"] == "atelier.trainer.model.trained")["data"]
    assert trained_event["metrics"]["swd_heldout"] == metrics["swd_heldout"]

    mira = Artist(http, {}, trained["token"]["Authorization"].split()[1])
    listed = await mira.call("GET", f"/v1/models/{model['id']}/versions/1/directions", 200)
    assert [d["id"] for d in listed["directions"]] == [1, 2, 3, 4, 5] and listed["max_amount"] == 5.0
    assert listed["directions"][0]["label"] == "direction 1" and listed["version"] == 1
    await mira.call("GET", f"/v1/models/{model['id']}/versions/7/directions", 404)
    await mira.call("GET", f"/v1/models/{model['id']}/versions/0/directions", 422)
    stranger = await artist(http, consent=False)
    await stranger.call("GET", f"/v1/models/{model['id']}/versions/1/directions", 404)
    # A public model's directions are listed to anyone (anyone may generate from it, in mode edit too).
    await mira.call("PATCH", f"/v1/models/{model['id']}", 200, json={"visibility": "public"})
    try:
        shared = await stranger.call("GET", f"/v1/models/{model['id']}/versions/1/directions", 200)
        assert shared["directions"] == listed["directions"]
    finally:
        await mira.call("PATCH", f"/v1/models/{model['id']}", 200, json={"visibility": "private"})
    await stranger.call("GET", f"/v1/models/{model['id']}/versions/1/directions", 404)

    # Descriptors of the works (not their pixels), one entry per work so one can be dropped.
    reference = json.loads(await asyncio.to_thread(_read, endpoints, f"models/{model['id']}/1/originality.json"))
    assert sorted(w["work_id"] for w in reference["works"]) == sorted(works)
    assert all(len(w["descriptors"]) == 1 and len(w["descriptors"][0]) == 432 for w in reference["works"])

    generation = await generate(mira, model["id"])
    figure = generation["outputs"][0]["originality"]
    assert figure["nearest_work_id"] in works and figure["distance"] > 0 and isinstance(figure["near_copy"], bool)
    edited = await mira.call("POST", "/v1/generations", 202, json={
        "model_id": model["id"], "mode": "edit", "direction": 1, "amount": 2.0, "seed": 3, "count": 1})
    assert edited["status"] == "queued"
    await mira.call("POST", "/v1/generations", 422, json={
        "model_id": model["id"], "mode": "edit", "direction": 6, "amount": 2.0})


async def test_sample_grids_are_the_owners_assets_and_models_are_private(
        trained, http) -> None:  # type: ignore[no-untyped-def]
    model = trained["model"]
    async with http.get(f"/v1/assets/{model['samples'][0]}", headers=trained["token"]) as resp:
        assert resp.status == 200, await resp.text()
        sample = await resp.json()
    assert sample["kind"] == "sample" and sample["width"] == sample["height"] > 32
    async with http.get("/v1/models", headers=trained["token"]) as resp:
        listing = await resp.json()
    assert [m["id"] for m in listing["items"]] == [model["id"]] and listing["items"][0]["latest_version"] == 1
    stranger = await artist(http, consent=False)
    await stranger.call("GET", f"/v1/models/{model['id']}", 404)
    await stranger.call("POST", f"/v1/models/{model['id']}/cancel", 404)
    await stranger.call("POST", f"/v1/models/{model['id']}/refine", 404, json={"steps": 5})
    assert (await stranger.call("GET", "/v1/models", 200))["items"] == []


async def test_refine_adds_a_version_trained_with_a_top_rated_generation(
        trained, http, db) -> None:  # type: ignore[no-untyped-def]
    model = trained["model"]
    mira = Artist(http, {}, trained["token"]["Authorization"].split()[1])
    generation = await generate(mira, model["id"])
    await mira.call("PUT", f"/v1/generations/{generation['id']}/outputs/0/rating", 204, json={"score": 5})
    refine = await mira.call("POST", f"/v1/models/{model['id']}/refine", 202, json={"steps": 20})
    assert refine["status"] == "queued" and refine["version"] == 2
    refined = await mira.wait(model["id"], ("succeeded",))
    v1, v2 = refined["versions"]
    assert (v1["version"], v2["version"]) == (1, 2) and v1["metrics"] == model["versions"][0]["metrics"]
    assert v2["dataset_sha256"] != v1["dataset_sha256"]  # the rated generation joined the works
    assert set(v2["metrics"]) >= {"swd", "swd_untrained", "recon_error"}
    extra = await db.fetchval("SELECT extra_asset_ids FROM trainer.jobs WHERE model_id = $1 AND version = 2",
                              model["id"])
    assert extra == [generation["outputs"][0]["asset_id"]] * 2  # a 5 over the bar of 4 counts twice


async def test_refine_weighs_the_likes_others_gave_published_outputs(
        trained, http, db) -> None:  # type: ignore[no-untyped-def]
    """An output the owner published and others liked joins the refine, weighted by its likes (the
    owner's own like and a taken-back like do not count); the new version says how far it is from
    the liked set before and after."""
    model = trained["model"]
    mira = Artist(http, {}, trained["token"]["Authorization"].split()[1])
    published, unliked = await generate(mira, model["id"]), await generate(mira, model["id"])
    works = []
    for generation in (published, unliked):
        works.append(await mira.call("POST", f"/v1/generations/{generation['id']}/outputs/0/publish", 201,
                                     json={"title": "liked?", "visibility": "public",
                                           "acknowledge_near_copy": True}))
    fans = [await artist(http, consent=False) for _ in range(3)]
    for fan in fans:
        await fan.call("PUT", f"/v1/works/{works[0]['id']}/like", 204)
    await mira.call("PUT", f"/v1/works/{works[0]['id']}/like", 204)  # the owner's own: not the audience
    await fans[0].call("PUT", f"/v1/works/{works[1]['id']}/like", 204)
    await fans[0].call("DELETE", f"/v1/works/{works[1]['id']}/like", 204)  # taken back
    deadline = asyncio.get_running_loop().time() + 30
    while await db.fetchval("SELECT count(*) FROM inference.output_likes WHERE work_id = ANY($1::text[])",
                            [works[0]["id"], works[1]["id"]]) != 4 or await db.fetchval(
            "SELECT count(*) FROM inference.output_likes WHERE work_id = $1", works[1]["id"]):
        assert asyncio.get_running_loop().time() < deadline, "inference did not hear the likes"
        await asyncio.sleep(0.2)
    before = await mira.call("GET", f"/v1/models/{model['id']}", 200)
    refine = await mira.call("POST", f"/v1/models/{model['id']}/refine", 202, json={"steps": 20})
    refined = await mira.wait(model["id"], ("succeeded",))
    job = await db.fetchrow("SELECT extra_asset_ids, liked_asset_ids FROM trainer.jobs"
                            " WHERE model_id = $1 AND version = $2", model["id"], refine["version"])
    liked_asset = published["outputs"][0]["asset_id"]
    assert job["liked_asset_ids"] == [liked_asset]
    assert job["extra_asset_ids"].count(liked_asset) == 2  # three likes, unrated: floor(log2(1 + 3))
    assert unliked["outputs"][0]["asset_id"] not in job["extra_asset_ids"]
    newest = refined["versions"][-1]
    assert newest["version"] == refine["version"] == before["latest_version"] + 1
    metrics = newest["metrics"]
    assert metrics["liked_works"] == 1
    assert metrics["swd_liked"] > 0 and metrics["swd_liked_before"] > 0


async def test_works_without_consent_are_refused_by_name(http) -> None:  # type: ignore[no-untyped-def]
    ana = await artist(http)
    usable = await ana.work(STYLE, 1)
    not_allowed = await ana.work(STYLE, 2, allow_training=False)
    unconsenting = await artist(http, consent=False)  # the work allows it, the account does not
    theirs = await unconsenting.work(STYLE, 3)
    private = await (await artist(http)).work(STYLE, 4, visibility="private")
    body = {"name": "Mixed", "work_ids": [usable, not_allowed, theirs, private], "steps": 10, **TINY}
    problem = await ana.call("POST", "/v1/models", 422, json=body)
    assert set(problem["refused"]) == {not_allowed, theirs, private}
    assert {e["work_id"]: e["reason"] for e in problem["errors"]} == {
        not_allowed: "no_consent", theirs: "no_consent", private: "not_found"}
    assert not_allowed in problem["detail"]
    assert (await ana.call("GET", "/v1/models", 200))["items"] == []


async def test_bad_requests_are_refused_with_problems(http) -> None:  # type: ignore[no-untyped-def]
    ana = await artist(http)
    work = await ana.work(STYLE, 5)
    ok = {"name": "x", "work_ids": [work], "steps": 10, **TINY}
    async with http.post("/v1/models", json=ok) as resp:
        assert resp.status == 401
    async with http.post("/v1/models", data="{}", headers={**ana.headers, "Content-Type": "text/plain"}) as resp:
        assert resp.status == 415
    async with http.post("/v1/models", data="{nope", headers={**ana.headers, "Content-Type": "application/json"}) as r:
        assert r.status == 400 and r.content_type == "application/problem+json"
    for change, field in [({"steps": 0}, "steps"), ({"steps": 20001}, "steps"),
                          ({"architecture": "gan"}, "architecture"),
                          ({"image_size": 48}, "image_size"), ({"collection_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}, None),
                          ({"work_ids": []}, "work_ids"), ({"name": ""}, "name")]:
        problem = await ana.call("POST", "/v1/models", 422, json={**ok, **change})
        assert field is None or field in {e["field"].split(".")[0] for e in problem["errors"] if e["field"]}, problem
    problem = await ana.call("POST", "/v1/models", 422, json={**ok, "image_size": 128})
    assert "GPU" in problem["detail"]
    await ana.call("GET", "/v1/models/01ARZ3NDEKTSV4RRFFQ69G5FAV", 404)
    await ana.call("GET", "/v1/models?limit=0", 422)


async def test_cancel_stops_a_running_job_and_a_queued_one_never_starts(
        http, js, endpoints) -> None:  # type: ignore[no-untyped-def]
    ana = await artist(http)
    works = [await ana.work(STYLE, seed) for seed in range(4)]
    long = {"work_ids": works, "steps": 20000, **TINY}
    running = await ana.call("POST", "/v1/models", 202, json={"name": "long", **long})
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while (await ana.call("GET", f"/v1/models/{running['id']}", 200))["progress"]["step"] == 0:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.2)
    waiting = await ana.call("POST", "/v1/models", 202, json={"name": "waiting", **long})
    async with http.post("/v1/models", json={"name": "one too many", **long}, headers=ana.headers) as resp:
        assert resp.status == 429 and resp.content_type == "application/problem+json"
        problem = await resp.json()
        # The trainer's wait travels in the problem and comes out as the header (ATELIER_TRAINER_LIMIT_RETRY_AFTER_S).
        assert resp.headers["Retry-After"] == "60" and problem["retry_after_s"] == 60
    assert problem["limit"] == 2 and problem["active_jobs"] == 2 and problem["quota"] == "training_jobs"

    assert (await ana.call("POST", f"/v1/models/{waiting['id']}/cancel", 202))["status"] == "canceled"
    assert (await ana.call("POST", f"/v1/models/{running['id']}/cancel", 202))["status"] == "canceling"
    # The worker polls the cancel flag every second; 60 s is generous for a loaded CI machine. An
    # ignored cancel never reaches "canceled" (20000 steps take minutes), so it still fails here.
    stopped = await ana.wait(running["id"], ("canceled",), timeout_s=60)
    assert 0 < stopped["progress"]["step"] < 20000 and stopped["versions"] == []
    never = await ana.call("GET", f"/v1/models/{waiting['id']}", 200)
    assert never["status"] == "canceled" and never["progress"]["step"] == 0
    await ana.call("POST", f"/v1/models/{running['id']}/cancel", 409)
    for model in (running, waiting):
        kinds = [e["type"] for e in await trainer_events(js, endpoints, model["id"])]
        assert kinds[-1] == "atelier.trainer.training.canceled", kinds
    first = await ana.call("GET", "/v1/models?limit=1", 200)
    second = await ana.call("GET", f"/v1/models?limit=1&cursor={first['next_cursor']}", 200)
    assert [m["id"] for m in first["items"] + second["items"]] == [waiting["id"], running["id"]]
    assert [m["status"] for m in first["items"] + second["items"]] == ["canceled", "canceled"]


async def test_a_killed_training_process_resumes_from_its_checkpoint(
        http, db) -> None:  # type: ignore[no-untyped-def]
    ana = await artist(http)
    works = [await ana.work(STYLE, seed) for seed in range(8)]
    model = await ana.call("POST", "/v1/models", 202, json={"name": "resumable", "work_ids": works, "steps": 250,
                                                           **TINY})
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while True:
        job = await db.fetchrow("SELECT worker_pid, checkpoint_step FROM trainer.jobs WHERE model_id = $1",
                                model["id"])
        if job["worker_pid"] and job["checkpoint_step"]:
            break
        assert asyncio.get_running_loop().time() < deadline, "no checkpoint was written"
        await asyncio.sleep(0.05)
    os.kill(job["worker_pid"], signal.SIGKILL)
    done = await ana.wait(model["id"], ("succeeded",))
    progress = done["progress"]
    assert progress["attempts"] == 2 and progress["step"] == 250
    assert progress["resumed_from_step"] >= job["checkpoint_step"] > 0
    assert done["versions"][0]["steps"] == 250


async def test_a_job_whose_author_withdrew_consent_while_queued_fails(
        http, js, endpoints) -> None:  # type: ignore[no-untyped-def]
    busy = await artist(http)
    blocker = await busy.call("POST", "/v1/models", 202, json={
        "name": "blocker", "work_ids": [await busy.work(STYLE, 9)], "steps": 20000, **TINY})
    await busy.wait(blocker["id"], ("running",))
    ana = await artist(http)
    model = await ana.call("POST", "/v1/models", 202, json={
        "name": "withdrawn", "work_ids": [await ana.work(STYLE, s) for s in range(2)], "steps": 10, **TINY})
    await ana.call("PATCH", "/v1/me", 200, json={"allow_training": False})
    await busy.call("POST", f"/v1/models/{blocker['id']}/cancel", 202)
    failed = await ana.wait(model["id"], ("failed",))
    assert "consent" in failed["error"] and failed["versions"] == []
    kinds = [e["type"] for e in await trainer_events(js, endpoints, model["id"])]
    assert kinds == ["atelier.trainer.model.queued", "atelier.trainer.training.failed"], kinds


def _exited(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # the stack's child: reap it once it exits
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


async def test_a_stopping_trainer_checkpoints_and_its_successor_resumes(
        http, db, stack) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM to the trainer service mid-training: the job is checkpointed and nak'ed, and the
    restarted service resumes it from that step. Runs last: it restarts the shared trainer."""
    ana = await artist(http)
    works = [await ana.work(STYLE, seed) for seed in range(8)]
    model = await ana.call("POST", "/v1/models", 202, json={"name": "graceful", "work_ids": works, "steps": 250,
                                                           **TINY})
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while (await db.fetchval("SELECT step FROM trainer.jobs WHERE model_id = $1", model["id"])) < 20:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    pid = stack.pids()["trainer"]
    os.kill(pid, signal.SIGTERM)
    try:
        deadline = asyncio.get_running_loop().time() + 15
        while not _exited(pid):
            assert asyncio.get_running_loop().time() < deadline, "the trainer did not stop in time"
            await asyncio.sleep(0.1)
        job = await db.fetchrow("SELECT status, step, checkpoint_step FROM trainer.jobs WHERE model_id = $1",
                                model["id"])
        assert job["status"] == "queued" and job["checkpoint_step"] == job["step"] > 0, dict(job)
    finally:
        await asyncio.to_thread(stack.start_services, ["trainer"], 0)
    done = await ana.wait(model["id"], ("succeeded",))
    assert done["progress"]["resumed_from_step"] == job["checkpoint_step"]
    assert done["progress"]["attempts"] == 2 and done["versions"][0]["steps"] == 250
