"""Steering and originality through the gateway, with the trainer's part played by the test: a tiny
generator is uploaded with a `directions.json` and an `originality.json` beside its model.onnx
(the files the trainer ships, shared/contracts/triton.py), and announced with `trainer.model.trained`.

- mode `edit` is deterministic, amount 0 is the seed's own image, and the generator's input moves
  along the direction (checked by regenerating the latents with onnxruntime);
- an unknown direction or an amount out of range is a 422 problem naming the field;
- every output records its distance to the nearest training work; an output that copies a training
  work is marked and cannot be published without `acknowledge_near_copy: true`.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import numpy as np
import onnxruntime as ort
import orjson
from minio import Minio

from services.inference import latents
from shared import originality
from shared.contracts.triton import DIRECTIONS_FILE, ORIGINALITY_FILE, repository_path, version_file_key
from shared.ids import new_id
from tests.e2e.test_inference_generations import generate, signup
from tests.support.style_models import announce_trained, tiny_generator_onnx, upload_model

COPIED_SEED = 77  # the training "work" of the test model is exactly this seed's image


def _put(client: Minio, bucket: str, key: str, doc: dict[str, Any]) -> None:
    data = orjson.dumps(doc)
    client.put_object(bucket, key, io.BytesIO(data), len(data), content_type="application/json")


async def steerable_model(endpoints: Any, js: Any, owner_id: str) -> tuple[str, np.ndarray, bytes]:
    model_id = new_id()
    client = Minio(endpoints.s3_endpoint, access_key=endpoints.s3_access_key, secret_key=endpoints.s3_secret_key,
                   secure=False)
    onnx = tiny_generator_onnx(4)
    session = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])
    q, _ = np.linalg.qr(np.random.default_rng(3).standard_normal((latents.LATENT_DIM, 3)))
    vectors = q.T.astype(np.float32)
    # One training "work" that is the generator's own image for COPIED_SEED, one that is noise.
    (copied,) = session.run(["image"], {"z": latents.sample(COPIED_SEED, 1).z})
    noise = np.random.default_rng(0).uniform(-1, 1, copied.shape).astype(np.float32)
    descs = originality.descriptors(np.concatenate([copied, noise]))
    scale = float(np.linalg.norm(descs[0] - descs[1]))
    # An untrained generator's images all look alike: put the near-copy line halfway to the
    # neighbouring seed's image, so that one counts as new and only the exact copy as a near copy.
    (neighbour,) = session.run(["image"], {"z": latents.sample(COPIED_SEED - 1, 1).z})
    gap = float(np.linalg.norm(originality.descriptors(neighbour)[0] - descs[0])) / scale
    reference = originality.reference_document(descs, ["work-copied", "work-noise"], scale=scale,
                                               threshold=gap / 2)
    path = repository_path(model_id, 1)
    await asyncio.to_thread(upload_model, client, endpoints.s3_bucket, model_id, 1, onnx)
    await asyncio.to_thread(_put, client, endpoints.s3_bucket, version_file_key(path, DIRECTIONS_FILE), {
        "directions": [{"id": i + 1, "label": f"direction {i + 1}", "variance_share": 0.1,
                        "vector": vectors[i].tolist()} for i in range(3)]})
    await asyncio.to_thread(_put, client, endpoints.s3_bucket, version_file_key(path, ORIGINALITY_FILE), reference)
    await announce_trained(js, model_id, owner_id, 1)
    return model_id, vectors, onnx


async def test_edit_moves_along_a_direction_deterministically(http, endpoints, js) -> None:  # type: ignore[no-untyped-def]
    owner = await signup(http)
    model_id, vectors, onnx = await steerable_model(endpoints, js, owner["id"])
    body = {"model_id": model_id, "mode": "edit", "direction": 2, "amount": 3.0, "seed": 10, "count": 2}
    first, again = await generate(http, owner, body), await generate(http, owner, body)
    assert first["status"] == again["status"] == "succeeded", first
    assert first["mode"] == "edit" and first["params"] == {"direction": 2, "amount": 3.0}
    assert [o["image_sha256"] for o in first["outputs"]] == [o["image_sha256"] for o in again["outputs"]]
    assert [o["seed"] for o in first["outputs"]] == [10, 11]

    plain = await generate(http, owner, {"model_id": model_id, "seed": 10, "count": 2})
    zero = await generate(http, owner, {**body, "amount": 0.0})
    assert [o["image_sha256"] for o in zero["outputs"]] == [o["image_sha256"] for o in plain["outputs"]]
    assert [o["image_sha256"] for o in first["outputs"]] != [o["image_sha256"] for o in plain["outputs"]]
    # Further along the direction, further from the seed's own image, in the generator's pixels too.
    session = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])
    base = session.run(["image"], {"z": latents.sample(10, 1).z})[0]
    gaps = []
    for amount in (1.0, 2.5, 5.0):
        z = latents.latents_for_request("edit", count=1, seed=10, direction=2, amount=amount, directions=vectors).z
        assert np.allclose((z - latents.sample(10, 1).z) @ vectors[1], amount, atol=1e-4)
        gaps.append(float(np.abs(session.run(["image"], {"z": z})[0] - base).mean()))
    assert gaps == sorted(gaps) and gaps[0] > 0, gaps


async def test_unknown_direction_or_amount_out_of_range_is_a_422(http, endpoints, js) -> None:  # type: ignore[no-untyped-def]
    owner = await signup(http)
    model_id, _, _ = await steerable_model(endpoints, js, owner["id"])
    await generate(http, owner, {"model_id": model_id, "count": 1})  # the model is known and loaded
    for extra, field in (({"direction": 4, "amount": 1.0}, "direction"), ({"direction": 1, "amount": 5.5}, "amount"),
                         ({"direction": 1}, None), ({"amount": 1.0, "direction": 0}, "direction")):
        async with http.post("/v1/generations", json={"model_id": model_id, "mode": "edit", **extra},
                             headers=owner["headers"]) as resp:
            assert resp.status == 422, (extra, await resp.text())
            assert resp.content_type == "application/problem+json"
            text = await resp.text()
            assert field is None or field in text, text
    async with http.get("/v1/generations?limit=5", headers=owner["headers"]) as resp:
        assert len((await resp.json())["items"]) == 1  # nothing was queued by the refused requests


async def test_outputs_record_originality_and_a_near_copy_needs_acknowledging(http, endpoints, js) -> None:  # type: ignore[no-untyped-def]
    owner = await signup(http)
    model_id, _, _ = await steerable_model(endpoints, js, owner["id"])
    done = await generate(http, owner, {"model_id": model_id, "seed": COPIED_SEED - 1, "count": 2})
    fresh, copy = done["outputs"]
    assert copy["seed"] == COPIED_SEED
    assert copy["originality"]["near_copy"] is True and copy["originality"]["nearest_work_id"] == "work-copied"
    assert copy["originality"]["originality"] < 1e-3  # the very image
    assert fresh["originality"]["near_copy"] is False
    assert fresh["originality"]["originality"] > 100 * copy["originality"]["originality"]
    base = f"/v1/generations/{done['id']}/outputs"
    async with http.post(f"{base}/1/publish", json={"title": "Mine?"}, headers=owner["headers"]) as resp:
        assert resp.status == 422 and resp.content_type == "application/problem+json"
        problem = await resp.json()
    assert "near copy" in problem["detail"] and problem["errors"][0]["field"] == "acknowledge_near_copy"
    async with http.get("/v1/works?origin=ai&limit=50", headers=owner["headers"]) as resp:
        assert all(w["generation_id"] != done["id"] for w in (await resp.json())["items"])  # nothing published
    async with http.post(f"{base}/1/publish", json={"title": "Mine, admittedly", "acknowledge_near_copy": True},
                         headers=owner["headers"]) as resp:
        assert resp.status == 201, await resp.text()
    async with http.post(f"{base}/0/publish", json={"title": "New"}, headers=owner["headers"]) as resp:
        assert resp.status == 201, await resp.text()
