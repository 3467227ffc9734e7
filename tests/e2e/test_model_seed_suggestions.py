"""`GET /v1/me/suggestions?kind=model_seed` through the gateway: once others like works a style model
was trained on, its owner is offered the seed whose output comes closest to each, with a body that
`POST /v1/generations` accepts as it is and whose first output is that seed's image; nothing for a
user without models, nothing once the liked work's consent is withdrawn."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from tests.support.artists import STYLE, TINY, Artist, artist, generate


async def _model_seeds(person: Artist) -> list[dict[str, Any]]:
    answer = await person.call("GET", "/v1/me/suggestions", 200, params={"kind": "model_seed"})
    assert "model_seed" in answer["method"]
    assert all(s["kind"] == "model_seed" for s in answer["items"])
    return answer["items"]  # type: ignore[no-any-return]


async def _generated(person: Artist, body: dict[str, Any]) -> dict[str, Any]:
    return await generate(person, body["model_id"], 90.0, body)


async def test_liked_training_works_get_a_reproducible_closest_seed(http: aiohttp.ClientSession) -> None:
    ana = await artist(http)
    fans = [await artist(http, consent=False) for _ in range(3)]
    works = [await ana.work(STYLE, seed) for seed in range(4)]
    outside = await ana.work("geometric", 5)  # liked, but no model was trained on it
    accepted = await ana.call("POST", "/v1/models", 202, json={"name": "Blobs", "work_ids": works, "steps": 30,
                                                              **TINY})
    assert await _model_seeds(ana) == []  # nothing liked yet (and nothing trained)
    await ana.wait(accepted["id"], ("succeeded",))
    # read again: the model page reads versions before the job, so the poll that sees `succeeded`
    # may have missed the version committed with it
    model = await ana.call("GET", f"/v1/models/{accepted['id']}", 200)
    version = model["versions"][-1]["version"]
    assert await _model_seeds(ana) == []  # trained, but no work has likes from others
    liked, once = works[1], works[2]
    for fan in fans:
        for work_id in (liked, outside):
            await fan.call("PUT", f"/v1/works/{work_id}/like", 204)
    await fans[0].call("PUT", f"/v1/works/{once}/like", 204)  # one like: not among the most-liked
    await ana.call("PUT", f"/v1/works/{works[3]}/like", 204)  # one's own likes count for nothing

    items = await _model_seeds(ana)
    assert [(s["subject_type"], s["subject"], s["evidence"]["work_id"]) for s in items] == [
        ("model", model["id"], liked)]
    found = items[0]
    ev, body = found["evidence"], found["generate"]
    assert (ev["model_id"], ev["version"], ev["likes"]) == (model["id"], version, 3)
    assert isinstance(ev["seed"], int) and 0 <= ev["seed"] < 256 and ev["distance"] >= 0
    assert body == {"model_id": model["id"], "version": version, "mode": "sample", "seed": ev["seed"], "count": 4}
    assert f"Seed {ev['seed']} of 'Blobs' comes closest to '{STYLE} 1'" in found["title"]
    assert 0 < found["confidence"] <= 1 and abs(found["confidence"] - 1 / (1 + ev["relative_distance"])) < 1e-3

    # The body is accepted as it is; output 0 is the suggested seed, as close to the work as promised.
    generation = await _generated(ana, body)
    first = generation["outputs"][0]
    assert (first["index"], first["seed"]) == (0, ev["seed"]) and len(generation["outputs"]) == 4
    assert first["originality"]["distance"] <= ev["distance"] + 1e-3  # the nearest work is at most that far
    if first["originality"]["nearest_work_id"] == liked:
        assert abs(first["originality"]["distance"] - ev["distance"]) < 1e-3
    again = await _generated(ana, {**body, "count": 1})  # same seed, same image
    assert again["outputs"][0]["image_sha256"] == first["image_sha256"]
    assert await _model_seeds(ana) == items  # answered again (from the trainer's cache), the same
    edit = found["generate_edit"]  # offered only when a latent direction comes 10 % closer
    if edit is not None:
        assert {k: edit[k] for k in body} == {**body, "mode": "edit"} and edit["direction"] == ev["direction"]
        moved = (await _generated(ana, edit))["outputs"][0]
        assert moved["seed"] == ev["seed"] and moved["originality"]["distance"] <= ev["edited_distance"] + 1e-3

    # Someone without models gets none; an unknown kind is a 422 problem.
    assert await _model_seeds(fans[0]) == []
    async with http.get("/v1/me/suggestions", params={"kind": "model_seeds"}, headers=ana.headers) as resp:
        assert resp.status == 422 and resp.content_type == "application/problem+json"

    # Consent withdrawn on the liked work: its version stops serving, and no seed is suggested for it.
    await ana.call("PATCH", f"/v1/works/{liked}", 200, json={"allow_training": False})
    deadline = asyncio.get_running_loop().time() + 30.0
    while await _model_seeds(ana):
        assert asyncio.get_running_loop().time() < deadline, "still suggested after withdrawal"
        await asyncio.sleep(0.5)
