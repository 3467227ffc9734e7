"""Consent that binds after training, shared models and training provenance, through the gateway.

Two artists: ana lends two works, mira trains a tiny model on them and six of her own. ana sees
where her works were used; mira shares the model (a stranger reads its page and generates from it,
a private model stays a 404); a generated image's manifest says it may not train AI and names the
model version and its dataset hash; ana withdraws consent on one work → the version is
`consent_withdrawn`, generations 410, an event on TRAINER, and mira retrains without it. Uploads
carrying an AI or do-not-train C2PA manifest keep their word after metadata is stripped.
"""

from __future__ import annotations

import io
import tempfile
from typing import Any

import aiohttp
import c2pa
import numpy as np
import pytest

from demo.art import png_bytes, render
from services.inference import devca, png_codec, provenance
from tests.e2e.test_trainer_models import trainer_events
from tests.support.artists import STYLE, TINY, Artist, artist
from tests.support.waiting import eventually

WAIT_S = 180.0




async def _post_generation(person: Artist, model_id: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    async with person.http.post("/v1/generations", json={"model_id": model_id, "count": 1, "seed": 5, **extra},
                                headers=person.headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def _generate(person: Artist, model_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
    async def accepted() -> dict[str, Any] | None:
        status, body = await _post_generation(person, model_id)
        # 409 until inference has loaded the version; 404 until it has heard the model went public
        assert status in (202, 404, 409), body
        return body if status == 202 else None

    gen = await eventually(accepted, timeout_s)

    async def done() -> dict[str, Any] | None:
        g = await person.call("GET", f"/v1/generations/{gen['id']}", 200)
        return g if g["status"] in ("succeeded", "failed") else None

    result = await eventually(done, timeout_s)
    assert result["status"] == "succeeded", result
    return result  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
async def shared(gateway_url: str) -> Any:
    async with aiohttp.ClientSession(base_url=gateway_url, timeout=aiohttp.ClientTimeout(total=60)) as session:
        ana, mira = await artist(session), await artist(session)
        lent = [await ana.work(STYLE, seed) for seed in (40, 41)]
        own = [await mira.work(STYLE, seed) for seed in range(6)]
        accepted = await mira.call("POST", "/v1/models", 202, json={
            "name": "Shared blobs", "work_ids": own + lent, "steps": 60, **TINY})
        model = await mira.wait(accepted["id"], ("succeeded",), WAIT_S)
        yield {"model": model, "lent": lent, "own": own, "ana": ana.headers, "mira": mira.headers}


def _person(http: aiohttp.ClientSession, headers: dict[str, str]) -> Artist:
    return Artist(http, {}, headers["Authorization"].split()[1])


async def test_training_uses_public_models_provenance_then_withdrawal_and_retrain(
        shared, http, js, endpoints) -> None:  # type: ignore[no-untyped-def]
    model, lent = shared["model"], shared["lent"]
    ana, mira = _person(http, shared["ana"]), _person(http, shared["mira"])
    stranger = await artist(http, consent=False)

    # The training record: which works, of which artists, in what share.
    (v1,) = model["versions"]
    shares = {w["work_id"]: w for w in v1["training_works"]}
    assert set(shares) == set(lent + shared["own"]) and v1["status"] == "active"
    assert shares[lent[0]]["share"] == pytest.approx(1 / 8) and shares[lent[0]]["images"] == 1

    # ana sees her works in training uses; mira sees none of hers as ana's.
    uses = await ana.call("GET", "/v1/me/training-uses", 200)
    assert sorted(u["work_id"] for u in uses["items"]) == sorted(lent)
    (m,) = uses["items"][0]["models"]
    assert m["model_id"] == model["id"] and m["owner_id"] == model["owner_id"]
    assert m["versions"][0]["status"] == "active" and uses["items"][0]["withdrawn"] is False
    page = await ana.call("GET", "/v1/me/training-uses?limit=1", 200)
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = await ana.call("GET", f"/v1/me/training-uses?limit=1&cursor={page['next_cursor']}", 200)
    assert {page["items"][0]["work_id"], rest["items"][0]["work_id"]} == set(lent)
    assert (await stranger.call("GET", "/v1/me/training-uses", 200))["items"] == []

    # Private: a 404 to others, for the page and for generating.
    await stranger.call("GET", f"/v1/models/{model['id']}", 404)
    status, body = await _post_generation(stranger, model["id"])
    assert status == 404, body
    await stranger.call("PATCH", f"/v1/models/{model['id']}", 404, json={"visibility": "public"})
    await stranger.call("POST", f"/v1/models/{model['id']}/retrain", 404, json={})

    # Public: anyone reads the page (even without signing in), lists it, and generates from it.
    shared_model = await mira.call("PATCH", f"/v1/models/{model['id']}", 200,
                                   json={"visibility": "public", "licence": "cc-by-4.0"})
    assert shared_model["visibility"] == "public" and shared_model["training_mining"] == "notAllowed"
    async with http.get(f"/v1/models/{model['id']}") as resp:
        assert resp.status == 200, await resp.text()
        page_view = await resp.json()
    assert page_view["name"] == "Shared blobs" and page_view["licence"] == "CC-BY-4.0"
    assert page_view["versions"][0]["metrics"] and page_view["samples"]
    listed = await stranger.call("GET", f"/v1/models?owner={model['owner_id']}", 200)
    assert [i["id"] for i in listed["items"]] == [model["id"]]
    everyone = await stranger.call("GET", "/v1/models?owner=all&sort=popular&limit=100", 200)
    assert model["id"] in [i["id"] for i in everyone["items"]]
    await stranger.call("GET", "/v1/models?sort=popular&cursor=nonsense", 400)
    generation = await _generate(stranger, model["id"])

    # The generated image's manifest: CAWG training-mining notAllowed, the model version and its dataset.
    output = generation["outputs"][0]
    async with http.get(output["content_url"], headers=stranger.headers) as resp:
        assert resp.status == 200
        png = await resp.read()
    with c2pa.Reader("image/png", io.BytesIO(png)) as reader:
        manifest = reader.get_active_manifest()
    labels = {a["label"]: a["data"] for a in manifest["assertions"]}
    entries = labels["cawg.training-mining"]["entries"]
    assert entries and {e["use"] for e in entries.values()} == {"notAllowed"}
    assert labels["org.atelier.model"] == {"model_id": model["id"], "version": 1,
                                           "dataset_sha256": v1["dataset_sha256"]}
    (ingredient,) = manifest["ingredients"]
    assert ingredient["relationship"] == "inputTo" and ingredient["metadata"]["dataset_sha256"] == v1["dataset_sha256"]
    verdict = await stranger.call("POST", "/v1/provenance/verify", 200, data=png,
                                  headers={**stranger.headers, "Content-Type": "image/png"})
    assert verdict["training"]["declared"] is True and verdict["training"]["allowed"] is False
    assert verdict["training"]["model"]["dataset_sha256"] == v1["dataset_sha256"]

    # Nothing withdrawn yet: retrain is a 409.
    await mira.call("POST", f"/v1/models/{model['id']}/retrain", 409, json={})

    # ana withdraws consent on one work: the version stops serving within seconds.
    await ana.call("PATCH", f"/v1/works/{lent[0]}", 200, json={"allow_training": False})

    async def withdrawn() -> dict[str, Any] | None:
        m = await mira.call("GET", f"/v1/models/{model['id']}", 200)
        return m if m["versions"][0]["status"] == "consent_withdrawn" else None

    after = await eventually(withdrawn, 15.0)
    assert after["consent_withdrawn"] is True and after["versions"][0]["withdrawn_work_ids"] == [lent[0]]
    mine = await mira.call("GET", "/v1/models?limit=100", 200)  # the list says it too (the app greys it out)
    assert next(m for m in mine["items"] if m["id"] == model["id"])["versions"] == [
        {"version": 1, "status": "consent_withdrawn"}]

    async def gone() -> tuple[int, dict[str, Any]] | None:
        status, body = await _post_generation(stranger, model["id"])
        return (status, body) if status == 410 else None

    status, problem = await eventually(gone, 15.0)
    assert problem["status"] == 410 and lent[0] in problem["detail"] and "consent" in problem["detail"]
    events = await trainer_events(js, endpoints, model["id"])
    notice = [e["data"] for e in events if e["type"] == "atelier.trainer.model.consent_withdrawn"]
    assert notice and notice[-1]["work_ids"] == [lent[0]] and notice[-1]["owner_id"] == model["owner_id"]
    assert notice[-1]["reason"] == "consent_withdrawn"
    uses = await ana.call("GET", "/v1/me/training-uses", 200)
    by_work = {u["work_id"]: u for u in uses["items"]}
    assert by_work[lent[0]]["withdrawn"] is True and by_work[lent[1]]["withdrawn"] is False
    assert by_work[lent[0]]["models"][0]["versions"][0]["status"] == "consent_withdrawn"
    assert by_work[lent[0]]["models"][0]["versions"][0]["generations"] >= 1

    # Earlier generations stay as they were.
    assert (await stranger.call("GET", f"/v1/generations/{generation['id']}", 200))["status"] == "succeeded"

    # Retrain without the withdrawn work: a new version, served again.
    retrain = await mira.call("POST", f"/v1/models/{model['id']}/retrain", 202, json={"steps": 30})
    assert retrain["version"] == 2 and retrain["status"] == "queued"
    await mira.call("POST", f"/v1/models/{model['id']}/retrain", 409, json={})  # already training
    retrained = await mira.wait(model["id"], ("succeeded",), WAIT_S)
    v2 = retrained["versions"][1]
    assert v2["status"] == "active" and lent[0] not in {w["work_id"] for w in v2["training_works"]}
    assert lent[0] not in retrained["work_ids"] and len(v2["training_works"]) == 7
    regenerated = await _generate(stranger, model["id"])
    assert regenerated["version"] == 2


def _signed_ai_png(use: str) -> bytes:
    """A PNG carrying a C2PA manifest that declares trainedAlgorithmicMedia and a training-mining use."""
    ca = devca.ensure_dev_ca(tempfile.mkdtemp(prefix="c2pa-upload-"))
    signer = provenance.Signer(ca.chain_pem, ca.key_pem)
    try:
        pixels = np.random.default_rng(len(use)).integers(0, 255, (24, 24, 3), dtype=np.uint8)  # distinct per use
        info = provenance.GenerationInfo(model_id="elsewhere", version=1, seed=1, mode="sample")
        return signer.sign(png_codec.encode_png(pixels), info, training=provenance.TrainingInfo(use=use))
    finally:
        signer.close()


async def test_an_ai_manifest_cannot_pass_as_human_and_do_not_train_pins_consent(
        http) -> None:  # type: ignore[no-untyped-def]
    teo = await artist(http)
    asset = await teo.call("POST", "/v1/assets", 201, data=_signed_ai_png("notAllowed"),
                           headers={**teo.headers, "Content-Type": "image/png"})
    async with http.post("/v1/works", headers=teo.headers, json={
            "title": "mine, honest", "asset_ids": [asset["id"]], "origin": "human", "visibility": "public"}) as resp:
        assert resp.status == 422 and resp.content_type == "application/problem+json"
        problem = await resp.json()
    assert problem["reason"] == "c2pa_ai_source" and "trainedAlgorithmicMedia" in problem["detail"]
    work = await teo.call("POST", "/v1/works", 201, json={
        "title": "made with a model", "asset_ids": [asset["id"]], "origin": "ai", "visibility": "public",
        "allow_training": True})
    assert work["allow_training"] is False  # the manifest says do not train
    async with http.patch(f"/v1/works/{work['id']}", headers=teo.headers, json={"allow_training": True}) as resp:
        assert resp.status == 422, await resp.text()
        assert (await resp.json())["reason"] == "c2pa_do_not_train"
    collab = await teo.call("POST", "/v1/works", 201, json={
        "title": "together", "asset_ids": [asset["id"]], "origin": "collab", "visibility": "private"})
    assert collab["origin"] == "collab"
    # The stored copy was stripped: the manifest is gone from it, its word was kept.
    async with http.get(f"/v1/assets/{asset['id']}/content", headers=teo.headers) as resp:
        stored = await resp.read()
    assert b"caBX" not in stored and b"c2pa" not in stored

    # A plain upload (no manifest) is human work with training as chosen.
    plain = await teo.call("POST", "/v1/assets", 201, data=png_bytes(render(STYLE, 77, 32)),
                           headers={**teo.headers, "Content-Type": "image/png"})
    human = await teo.call("POST", "/v1/works", 201, json={
        "title": "by hand", "asset_ids": [plain["id"]], "origin": "human", "allow_training": True})
    assert human["allow_training"] is True
    # An allowed-training AI upload keeps the author's choice.
    allowed = await teo.call("POST", "/v1/assets", 201, data=_signed_ai_png("allowed"),
                             headers={**teo.headers, "Content-Type": "image/png"})
    ok = await teo.call("POST", "/v1/works", 201, json={
        "title": "ai, trainable", "asset_ids": [allowed["id"]], "origin": "ai", "allow_training": True})
    assert ok["allow_training"] is True
