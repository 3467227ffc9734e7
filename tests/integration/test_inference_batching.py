"""One batch of several users' generations, against the real PostgreSQL, NATS, assets service and S3.

The running platform records the models; a GenerationWorker in this process (the service's own
class, with an in-process ONNX Runtime) then takes the jobs of five generations of three users on
two models as ONE batch, so the test knows they were batched. Every output must land on its own
generation and owner, carry a valid C2PA signature that the running inference service traces back
to that generation and index, and a second delivery of the same batch must do no work twice.
"""

from __future__ import annotations

import asyncio
import base64
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import pytest
from minio import Minio

from services.inference import store, watermark
from services.inference.backends.onnx_local import OnnxLocalBackend
from services.inference.catalog import ModelCatalog
from services.inference.credentials import load_credentials
from services.inference.model_repository import ModelRepository
from services.inference.provenance import Signer
from services.inference.settings import InferenceSettings
from services.inference.worker import GenerationWorker
from shared.contracts import assets
from shared.contracts import inference as c
from shared.contracts.events.catalog import GenerateJob
from shared.contracts.events.envelope import make_event
from shared.db import create_pool
from shared.ids import new_id
from shared.messaging.rpc import call
from shared.objectstore import ObjectStore
from tests.support.streams import stored_events, wait_outbox_relayed
from tests.support.style_models import announce_trained, tiny_generator_onnx, upload_model


@pytest.fixture
def settings(stack: Any, platform: Any, monkeypatch: pytest.MonkeyPatch) -> InferenceSettings:
    for key, value in stack.service_env("inference").items():
        monkeypatch.setenv(key, value)
    return InferenceSettings(inference_backend="onnx_local")


async def _ready_model(endpoints: Any, js: Any, settings: InferenceSettings, owner: str, seed: int) -> str:
    model_id = new_id()
    client = Minio(endpoints.s3_endpoint, access_key=endpoints.s3_access_key, secret_key=endpoints.s3_secret_key,
                   secure=False)
    await asyncio.to_thread(upload_model, client, endpoints.s3_bucket, model_id, 1, tiny_generator_onnx(seed))
    await announce_trained(js, model_id, owner, 1, image_size=32)
    pool = await create_pool(settings, schema="inference")
    try:
        for _ in range(300):
            version = await store.get_version(pool, model_id, 1)
            if version is not None and version.status == "ready":
                return model_id
            await asyncio.sleep(0.1)
    finally:
        await pool.close()
    raise AssertionError("the platform never recorded the model as ready")


async def test_a_batch_of_several_users_jobs_lands_each_output_on_its_generation_signed(  # type: ignore[no-untyped-def]
        settings, endpoints, nc, js) -> None:
    users = [new_id() for _ in range(3)]
    models = [await _ready_model(endpoints, js, settings, users[0], 11),
              await _ready_model(endpoints, js, settings, users[1], 12)]
    # (owner, model, count, seed): the same model and seed for two users, two models in one batch.
    wanted = [(users[0], models[0], 3, 7), (users[1], models[1], 2, 8), (users[2], models[0], 3, 7),
              (users[0], models[1], 1, 9), (users[2], models[0], 4, 10)]
    pool = await create_pool(settings, schema="inference")
    executor = ThreadPoolExecutor(max_workers=2)
    objects = ObjectStore(settings)
    credentials = load_credentials(settings)
    signer = Signer(credentials.chain_pem, credentials.key_pem)
    backend = OnnxLocalBackend()
    worker = GenerationWorker(settings, pool, nc, ModelCatalog(pool, backend, ModelRepository(objects)), backend,
                              signer, executor)
    try:
        ids = []
        for owner, model_id, count, seed in wanted:
            generation_id = new_id()
            ids.append(generation_id)
            await store.insert_generation(pool, {  # as generations.create records it, without its job
                "id": generation_id, "owner_id": owner, "model_id": model_id, "version": 1, "mode": "sample",
                "count": count, "seed": seed, "params": {}, "idempotency_key": None,
                "watermark_id": watermark.format_short_id(watermark.short_id(generation_id))
                if watermark.can_embed(32, 32) else None})
        jobs = [(make_event(GenerateJob(generation_id=g, owner_id=o), service="tests", subject_id=g), None)
                for g, (o, *_) in zip(ids, wanted, strict=True)]
        assert await worker.handle_batch(jobs) == [None] * len(jobs)  # type: ignore[arg-type]

        rows = await store.get_generations(pool, ids)
        outputs = {g: [o for o in await store.outputs_of(pool, [g])] for g in ids}
        for g, (owner, model_id, count, _) in zip(ids, wanted, strict=True):
            assert rows[g].status == "succeeded" and rows[g].owner_id == owner and rows[g].model_id == model_id
            assert [o.index for o in outputs[g]] == list(range(count))
        # Same model, seed and parameters for two users: the same pixels (determinism) in two assets.
        assert [o.image_sha256 for o in outputs[ids[0]]] == [o.image_sha256 for o in outputs[ids[2]]]
        assert {o.asset_id for o in outputs[ids[0]]}.isdisjoint(o.asset_id for o in outputs[ids[2]])
        assert outputs[ids[0]][0].image_sha256 != outputs[ids[3]][0].image_sha256  # another model

        every = [(g, o) for g in ids for o in outputs[g]]
        described = await call(nc, assets.DESCRIBE, {"ids": [o.asset_id for _, o in every]})
        by_id = {a.id: a for a in described.items}
        urls = (await call(nc, assets.READ_URLS, {"ids": list(by_id)})).urls
        async with aiohttp.ClientSession() as http:
            for g, o in every:
                record = by_id[o.asset_id]
                assert record.owner_id == rows[g].owner_id and record.kind == "generated"
                assert (record.width, record.height) == (32, 32) and len(record.palette) == 5
                async with http.get(urls[o.asset_id]) as resp:
                    data = await resp.read()
                assert record.sha256 == o.signed_sha256 and record.size == len(data)
                verdict = await call(nc, c.PROVENANCE_VERIFY, {"content_type": "image/png",
                                                               "data_b64": base64.b64encode(data).decode()})
                assert verdict.state == "valid", verdict
                assert verdict.generation is not None
                assert (verdict.generation.id, verdict.generation.index) == (g, o.index)
                # 32 px, inside the thumbnail box: the original is its own thumbnail, no second object.
                thumb = await call(nc, assets.CONTENT_URL, {"id": o.asset_id, "variant": "thumbnail"},
                                   actor_id=rows[g].owner_id)
                assert (thumb.content_type, thumb.size, thumb.etag) == ("image/png", len(data), f'"{record.sha256}"')
        client = Minio(endpoints.s3_endpoint, access_key=endpoints.s3_access_key,
                       secret_key=endpoints.s3_secret_key, secure=False)
        for owner in users:
            assert await asyncio.to_thread(lambda o=owner: list(client.list_objects(
                endpoints.s3_bucket, prefix=f"thumbnails/{o}/", recursive=True))) == []

        # The same batch again (redelivered, one job twice): no new output, no second completion.
        again = await worker.handle_batch([*jobs, jobs[0]])  # type: ignore[list-item]
        assert again == [None] * (len(jobs) + 1)
        assert {g: await store.outputs_of(pool, [g]) for g in ids} == outputs
        await wait_outbox_relayed(endpoints.database_url, "inference")
        completed = [e for e in await stored_events(js, "inference.generation.completed")
                     if e["data"]["generation_id"] in ids]
        assert sorted(e["data"]["generation_id"] for e in completed) == sorted(ids)
        for event in completed:
            g = event["data"]["generation_id"]
            assert [(x["index"], x["asset_id"]) for x in event["data"]["outputs"]] == [
                (o.index, o.asset_id) for o in outputs[g]]
    finally:
        await backend.close()
        signer.close()
        objects.close()
        executor.shutdown(wait=True)
        await pool.close()
