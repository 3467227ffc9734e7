"""Style models through the gateway: an artist uploads procedural works of one style, consents,
trains a model and watches it learn (progress events, sample grids, SWD below the untrained
model's), gets an ONNX export that matches torch, refines it with a rated generation, cancels,
and is refused works without consent. Killing the training process mid-run makes the redelivered
job resume from its checkpoint.

Tiny configurations (32 px, width 16, tens of steps) keep each training run to seconds.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import signal
from typing import Any

import aiohttp
import asyncpg
import numpy as np
import onnxruntime as ort
import pytest
import torch
from minio import Minio
from nats.js.api import ConsumerConfig, DeliverPolicy

from demo.art import png_bytes, render
from services.trainer.models import ConvVAE
from services.trainer.training import Checkpoint

PASSWORD = "correct horse battery"
TINY = {"architecture": "vae", "image_size": 32, "width": 16, "batch_size": 16}
WAIT_S = 180.0


class Artist:
    def __init__(self, http: aiohttp.ClientSession, user: dict[str, Any], token: str) -> None:
        self.http, self.user, self.headers = http, user, {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, status: int, **kwargs: Any) -> Any:
        async with self.http.request(method, path, headers={**self.headers, **kwargs.pop("headers", {})},
                                     **kwargs) as resp:
            body = await resp.text()
            assert resp.status == status, f"{method} {path}: {resp.status} {body}"
            return json.loads(body) if body else None

    async def work(self, style: str, seed: int, *, allow_training: bool = True, visibility: str = "public") -> str:
        asset = await self.call("POST", "/v1/assets", 201, data=png_bytes(render(style, seed, 64)),
                                headers={"Content-Type": "image/png"})
        work = await self.call("POST", "/v1/works", 201, json={
            "title": f"{style} {seed}", "tags": [style], "asset_ids": [asset["id"]], "visibility": visibility,
            "origin": "human", "allow_training": allow_training})
        return str(work["id"])

    async def wait(self, model_id: str, statuses: tuple[str, ...], timeout_s: float = WAIT_S) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            model = await self.call("GET", f"/v1/models/{model_id}", 200)
            if model["status"] in statuses:
                return model  # type: ignore[no-any-return]
            assert model["status"] not in ("failed", "canceled") or model["status"] in statuses, model
            assert asyncio.get_running_loop().time() < deadline, f"still {model['status']}: {model['progress']}"
            await asyncio.sleep(0.3)


async def artist(http: aiohttp.ClientSession, *, consent: bool = True) -> Artist:
    name = "t_" + secrets.token_hex(6)
    async with http.post("/v1/auth/signup", json={"username": name, "email": f"{name}@example.com",
                                                  "password": PASSWORD}) as resp:
        assert resp.status == 201, await resp.text()
        session = await resp.json()
    person = Artist(http, session["user"], session["token"])
    if consent:
        await person.call("PATCH", "/v1/me", 200, json={"allow_training": True})
    return person


@pytest.fixture
async def http(gateway_url: str) -> Any:
    async with aiohttp.ClientSession(base_url=gateway_url, timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


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


async def trainer_events(js: Any, model_id: str, *, timeout_s: float = 5.0) -> list[dict[str, Any]]:
    """Every trainer.* event about `model_id` stored on the TRAINER stream, in order."""
    sub = await js.subscribe("trainer.>", ordered_consumer=True,
                             config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL))
    events = []
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=1.0)
            except Exception:  # noqa: BLE001 - no more messages: the replay is over
                break
            event = json.loads(msg.data)
            if event["data"].get("model_id") == model_id:
                events.append(event)
    finally:
        await sub.unsubscribe()
    return events


async def test_a_consented_style_trains_to_a_served_export_that_matches_torch(
        http, endpoints, js, db) -> None:  # type: ignore[no-untyped-def]
    mira = await artist(http)
    works = [await mira.work("waves", seed) for seed in range(16)]
    accepted = await mira.call("POST", "/v1/models", 202, json={
        "name": "Waves", "work_ids": works, "steps": 60, **TINY})
    assert accepted["status"] == "queued" and accepted["versions"] == []
    model = await mira.wait(accepted["id"], ("succeeded",))

    # Progress arrived on the way, with sample grids stored as the owner's assets.
    events = await trainer_events(js, model["id"])
    kinds = [e["type"] for e in events]
    assert kinds[0] == "atelier.trainer.model.queued" and kinds[-1] == "atelier.trainer.model.trained", kinds
    progress = [e["data"] for e in events if e["type"] == "atelier.trainer.training.progress"]
    steps = [p["step"] for p in progress]
    assert len(progress) >= 3 and steps == sorted(steps) and steps[-1] == 60, steps
    assert all(set(p["losses"]) == {"loss", "recon", "kl"} for p in progress)
    sample_ids = [p["sample_asset_id"] for p in progress if p.get("sample_asset_id")]
    assert sample_ids and set(sample_ids) <= set(model["samples"])
    sample = await mira.call("GET", f"/v1/assets/{model['samples'][0]}", 200)
    assert sample["kind"] == "sample" and sample["width"] > 32

    # The version's metrics show learning: closer to the works than the untrained model.
    (version,) = model["versions"]
    metrics = version["metrics"]
    assert metrics["swd"] < 0.9 * metrics["swd_untrained"], metrics
    assert metrics["recon_error"] < 0.5 * metrics["recon_error_untrained"], metrics
    assert len(version["dataset_sha256"]) == 64 and model["progress"]["step"] == 60

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
    trained = next(e for e in events if e["type"] == "atelier.trainer.model.trained")["data"]
    assert trained["repository_path"] == f"models/{model['id']}/1/" and trained["metrics"] == metrics
