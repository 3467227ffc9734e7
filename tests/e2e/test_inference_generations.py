"""Generations through the gateway: a trained model generates signed images, the same seed gives
the same pixels, the manifest verifies (and a changed pixel does not), bad input is refused.

The trainer's part is played by the test: it uploads a tiny exported generator to
`models/<id>/<version>/model.onnx` and publishes `trainer.model.trained`, as the trainer does.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import aiohttp
import pytest
from minio import Minio

from services.inference import png_codec, provenance
from shared.ids import new_id
from tests.support.png import with_changed_pixel
from tests.support.style_models import announce_queued, announce_trained, tiny_generator_onnx, upload_model

PASSWORD = "correct horse battery"


async def signup(http: aiohttp.ClientSession) -> dict[str, Any]:
    name = "g_" + secrets.token_hex(6)
    async with http.post("/v1/auth/signup", json={"username": name, "email": f"{name}@example.com",
                                                  "password": PASSWORD}) as resp:
        assert resp.status == 201, await resp.text()
        session = await resp.json()
    return {"id": session["user"]["id"], "headers": {"Authorization": f"Bearer {session['token']}"}}


async def trained_model(endpoints: Any, js: Any, owner_id: str, *, seed: int = 1, version: int = 1,
                        visibility: str | None = None, image_size: int = 32) -> str:
    model_id = new_id()
    client = Minio(endpoints.s3_endpoint, access_key=endpoints.s3_access_key, secret_key=endpoints.s3_secret_key,
                   secure=False)
    onnx = tiny_generator_onnx(seed, image_size=image_size)
    await asyncio.to_thread(upload_model, client, endpoints.s3_bucket, model_id, version, onnx)
    await announce_trained(js, model_id, owner_id, version, visibility=visibility, image_size=image_size)
    return model_id


async def generate(http: aiohttp.ClientSession, user: dict[str, Any], body: dict[str, Any],
                   timeout_s: float = 30.0) -> dict[str, Any]:
    """POST (retrying while the just-announced model is still being loaded) and wait until done."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        async with http.post("/v1/generations", json=body, headers=user["headers"]) as resp:
            if resp.status == 202:
                accepted = await resp.json()
                break
            assert resp.status in (404, 409), await resp.text()  # the model event is still in flight
        assert asyncio.get_running_loop().time() < deadline, "the model never became usable"
        await asyncio.sleep(0.2)
    assert accepted["status"] == "queued"
    return await wait_done(http, user, accepted["id"], deadline)


async def wait_done(http: aiohttp.ClientSession, user: dict[str, Any], generation_id: str,
                    deadline: float) -> dict[str, Any]:
    while True:
        async with http.get(f"/v1/generations/{generation_id}", headers=user["headers"]) as resp:
            assert resp.status == 200, await resp.text()
            generation = await resp.json()
        if generation["status"] in ("succeeded", "failed"):
            return generation
        assert asyncio.get_running_loop().time() < deadline, f"still {generation['status']}"
        await asyncio.sleep(0.1)


async def content(http: aiohttp.ClientSession, user: dict[str, Any], asset_id: str) -> bytes:
    async with http.get(f"/v1/assets/{asset_id}/content", headers=user["headers"]) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.read()


async def verify(http: aiohttp.ClientSession, image: bytes) -> dict[str, Any]:
    async with http.post("/v1/provenance/verify", data=image, headers={"Content-Type": "image/png"}) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_a_trained_model_generates_signed_reproducible_images(http, endpoints, js) -> None:  # type: ignore[no-untyped-def]
    owner = await signup(http)
    model_id = await trained_model(endpoints, js, owner["id"])
    body = {"model_id": model_id, "count": 3, "seed": 1234, "mode": "sample"}
    first = await generate(http, owner, body)
    assert first["status"] == "succeeded", first
    assert first["version"] == 1 and first["mode"] == "sample" and first["seed"] == 1234
    assert [(o["index"], o["seed"]) for o in first["outputs"]] == [(0, 1234), (1, 1235), (2, 1236)]
    second = await generate(http, owner, body)
    assert [o["image_sha256"] for o in second["outputs"]] == [o["image_sha256"] for o in first["outputs"]]
    a = await content(http, owner, first["outputs"][0]["asset_id"])
    b = await content(http, owner, second["outputs"][0]["asset_id"])
    # Same pixels, byte for byte once decoded; the signed files differ only by c2pa's random salts.
    assert png_codec.decode_image(a).tobytes() == png_codec.decode_image(b).tobytes()
    assert png_codec.decode_image(a).shape == (32, 32, 3)

    verdict = await verify(http, a)
    assert verdict["state"] == "valid", verdict["validation_errors"]
    actions = next(x for x in verdict["manifest"]["assertions"] if x["label"].startswith("c2pa.actions"))
    assert actions["data"]["actions"][0]["digitalSourceType"] == provenance.DIGITAL_SOURCE_TYPE
    signed = next(x for x in verdict["manifest"]["assertions"] if x["label"] == provenance.GENERATION_ASSERTION)
    assert signed["data"]["model_id"] == model_id and signed["data"]["seed"] == 1234
    assert signed["data"]["parameters"] == {"count": 3, "seed": 1234}
    assert verdict["generation"]["id"] == first["id"] and verdict["generation"]["index"] == 0

    assert (await verify(http, with_changed_pixel(a)))["state"] == "tampered"
    stripped = await verify(http, png_codec.strip_metadata(a))
    assert stripped["state"] == "absent" and stripped["manifest"] is None


async def test_a_stripped_128px_image_still_leads_to_its_generation(http, endpoints, js) -> None:  # type: ignore[no-untyped-def]
    owner = await signup(http)
    model_id = await trained_model(endpoints, js, owner["id"], image_size=128)
    body = {"model_id": model_id, "count": 1, "seed": 77}
    first, second = await generate(http, owner, body), await generate(http, owner, body)
    signed = await content(http, owner, first["outputs"][0]["asset_id"])
    assert png_codec.decode_image(signed).shape == (128, 128, 3)
    # The watermark carries each generation's own id: at 128 px the pixels differ per generation.
    assert first["outputs"][0]["image_sha256"] != second["outputs"][0]["image_sha256"]
    whole = await verify(http, signed)
    assert whole["state"] == "valid" and whole["generation"]["matched_by"] == "signed_bytes"
    stripped = await verify(http, png_codec.strip_metadata(signed))
    assert stripped["state"] == "absent"
    assert stripped["watermark_id"] == whole["watermark_id"] is not None
    assert stripped["generation"]["id"] == first["id"] and stripped["generation"]["matched_by"] == "watermark"


async def test_a_missing_seed_is_drawn_and_recorded(http, endpoints, js) -> None:  # type: ignore[no-untyped-def]
    owner = await signup(http)
    model_id = await trained_model(endpoints, js, owner["id"], seed=2)
    drawn = await generate(http, owner, {"model_id": model_id, "count": 1})
    again = await generate(http, owner, {"model_id": model_id, "count": 1, "seed": drawn["seed"]})
    assert drawn["outputs"][0]["image_sha256"] == again["outputs"][0]["image_sha256"]


async def test_models_are_private_to_their_owner_unless_public(http, endpoints, js) -> None:  # type: ignore[no-untyped-def]
    owner, other = await signup(http), await signup(http)
    private = await trained_model(endpoints, js, owner["id"])
    await generate(http, owner, {"model_id": private, "count": 1})  # loaded and usable by its owner
    async with http.post("/v1/generations", json={"model_id": private, "count": 1}, headers=other["headers"]) as r:
        assert r.status == 404
    public = await trained_model(endpoints, js, owner["id"], visibility="public")
    done = await generate(http, other, {"model_id": public, "count": 1})
    assert done["status"] == "succeeded"
    async with http.get(f"/v1/generations/{done['id']}", headers=owner["headers"]) as r:
        assert r.status == 404  # a generation is its requester's


async def test_bad_requests_get_the_right_status(http, endpoints, js) -> None:  # type: ignore[no-untyped-def]
    owner = await signup(http)
    model_id = await trained_model(endpoints, js, owner["id"])
    await generate(http, owner, {"model_id": model_id, "count": 1})
    queued = new_id()
    await announce_queued(js, queued, owner["id"], 1)
    post = {"headers": owner["headers"]}
    cases: list[tuple[Any, int]] = [
        ({"model_id": new_id(), "count": 1}, 404),
        ({"model_id": model_id, "version": 7}, 404),
        ({"model_id": model_id, "count": 0}, 422),
        ({"model_id": model_id, "count": 17}, 422),
        ({"model_id": model_id, "seed": -1}, 422),
        ({"model_id": model_id, "seed": 2**63}, 422),
        ({"model_id": model_id, "mode": "variations", "strength": 1.5}, 422),
        ({"model_id": model_id, "mode": "interpolate"}, 422),  # needs target_seed
        ({"model_id": model_id, "truncation": 0}, 422),
        ({"model_id": model_id, "mode": "dream"}, 422),
    ]
    for body, status in cases:
        async with http.post("/v1/generations", json=body, **post) as resp:
            assert resp.status == status, (body, await resp.text())
            assert resp.content_type == "application/problem+json"
    for _ in range(50):  # the queued model's event may still be in flight: 404 until it lands
        async with http.post("/v1/generations", json={"model_id": queued}, **post) as resp:
            if resp.status == 409:
                break
            assert resp.status == 404
        await asyncio.sleep(0.1)
    else:
        pytest.fail("a model without a trained version never answered 409")
    async with http.post("/v1/generations", data=b"{not json", headers={**owner["headers"],
                                                                         "Content-Type": "application/json"}) as resp:
        assert resp.status == 400
    async with http.post("/v1/generations", json={"model_id": model_id}) as resp:
        assert resp.status == 401
    async with http.post("/v1/provenance/verify", data=b"x", headers={"Content-Type": "text/plain"}) as resp:
        assert resp.status == 415
    async with http.post("/v1/provenance/verify", data=b"not an image", headers={"Content-Type": "image/png"}) as resp:
        assert resp.status == 422
    async with http.post("/v1/provenance/verify", data=b"\0" * (9 * 1024**2),
                         headers={"Content-Type": "image/png"}) as resp:
        assert resp.status == 413


async def test_rating_publishing_and_listing(http, endpoints, js) -> None:  # type: ignore[no-untyped-def]
    owner, fan = await signup(http), await signup(http)
    model_id = await trained_model(endpoints, js, owner["id"], visibility="public")
    done = await generate(http, fan, {"model_id": model_id, "count": 2, "seed": 5})
    base = f"/v1/generations/{done['id']}/outputs"
    async with http.put(f"{base}/1/rating", json={"score": 5}, headers=fan["headers"]) as resp:
        assert resp.status == 204
    for path, body, who, status in ((f"{base}/1/rating", {"score": 6}, fan, 422),
                                    (f"{base}/1/rating", {"score": 3}, owner, 404),
                                    (f"{base}/9/rating", {"score": 3}, fan, 404)):
        async with http.put(path, json=body, headers=who["headers"]) as resp:
            assert resp.status == status, await resp.text()
    async with http.get(f"/v1/generations/{done['id']}", headers=fan["headers"]) as resp:
        assert [o["score"] for o in (await resp.json())["outputs"]] == [None, 5]

    async with http.post(f"{base}/1/publish", json={"title": "Morning fog", "tags": ["fog"]},
                         headers=fan["headers"]) as resp:
        assert resp.status == 201, await resp.text()
        work = await resp.json()
    assert work["origin"] == "ai"
    assert work["model"] == {"id": model_id, "version": 1, "owner_id": owner["id"]}  # credits the model's owner
    assert work["author"]["id"] == fan["id"] and work["generation_id"] == done["id"]
    assert work["asset_ids"] == [done["outputs"][1]["asset_id"]]

    more = await generate(http, fan, {"model_id": model_id, "count": 1})
    async with http.get("/v1/generations?limit=1", headers=fan["headers"]) as resp:
        page = await resp.json()
    assert [g["id"] for g in page["items"]] == [more["id"]] and page["next_cursor"]
    async with http.get(f"/v1/generations?limit=5&cursor={page['next_cursor']}", headers=fan["headers"]) as resp:
        assert [g["id"] for g in (await resp.json())["items"]] == [done["id"]]
