"""`GET /v1/models/{id}/training-set/advice` through the gateway: a style model over five similar
works, one very different work and one near copy names the planted outlier and the copy pair, and
the artist's works of a second style left out of the set as coverage."""

from __future__ import annotations

import aiohttp
from PIL import ImageEnhance

from demo.art import png_bytes, render
from tests.support.artists import TINY, Artist, artist


async def _work_from(person: Artist, image: bytes, title: str) -> str:
    asset = await person.call("POST", "/v1/assets", 201, data=image, headers={"Content-Type": "image/png"})
    work = await person.call("POST", "/v1/works", 201, json={
        "title": title, "tags": ["dots"], "asset_ids": [asset["id"]], "visibility": "public", "origin": "human",
        "allow_training": True, "acknowledge_similarity": True})
    return str(work["id"])


async def test_advice_names_the_planted_outlier_and_the_copy_pair_for_the_owner_only(
        http: aiohttp.ClientSession) -> None:
    ana, other = await artist(http), await artist(http)
    similar = [await ana.work("dots", seed) for seed in range(5)]
    odd = await ana.work("geometric", 11)
    copy = await _work_from(ana, png_bytes(ImageEnhance.Brightness(render("dots", 1, 64)).enhance(1.05)), "dots 1b")
    works = [*similar, odd, copy]
    left_out = [await ana.work("waves", seed) for seed in (20, 21, 22)]  # a second style, not in the set
    await ana.work("dots", 30)  # more of the same: no coverage
    model = await ana.call("POST", "/v1/models", 202, json={"name": "Dots", "work_ids": works, "steps": 1, **TINY})
    path = f"/v1/models/{model['id']}/training-set/advice"
    try:
        advice = await ana.call("GET", path, 200)
        assert (advice["model_id"], advice["images"], advice["analysed"], advice["candidates"], advice["skipped"]) == (
            model["id"], 7, 7, 4, [])
        assert advice["method"] and advice["summary"]["median_pair_distance"] > 0
        found = {(i["kind"], tuple(sorted(im["work_id"] for im in i["images"]))) for i in advice["items"]}
        assert found == {("outlier", (odd,)), ("near_duplicate", tuple(sorted((similar[1], copy)))),
                         *(("coverage", (w,)) for w in left_out)}
        assert [i["kind"] for i in advice["items"]] == ["outlier", "near_duplicate", *["coverage"] * 3]
        cover = [i for i in advice["items"] if i["kind"] == "coverage"]
        assert all(i["evidence"]["ratio"] >= 2 and 0.5 < i["confidence"] <= 1 for i in cover)
        outlier = next(i for i in advice["items"] if i["kind"] == "outlier")
        ev = outlier["evidence"]
        assert ev["distance"] > ev["threshold"] and ev["robust_z"] > 3.5
        assert 0.5 < outlier["confidence"] <= 1 and odd in outlier["explanation"]
        pair = next(i for i in advice["items"] if i["kind"] == "near_duplicate")
        assert pair["evidence"]["phash_distance_bits"] <= 6 and pair["confidence"] >= 0.5
        assert copy in pair["explanation"] and similar[1] in pair["explanation"]
        only = await ana.call("GET", path, 200, params={"kind": "near_duplicate"})
        assert [i["kind"] for i in only["items"]] == ["near_duplicate"] and only["candidates"] == 0

        # someone else's model is a 404, private or public; bad input is a 4xx problem
        await other.call("GET", path, 404)
        await ana.call("PATCH", f"/v1/models/{model['id']}", 200, json={"visibility": "public"})
        problem = await other.call("GET", path, 404)
        assert "no model" in problem["detail"]
        await ana.call("GET", "/v1/models/01ARZ3NDEKTSV4RRFFQ69G5FAV/training-set/advice", 404)
        await ana.call("GET", path, 422, params={"bogus": "1"})
        await ana.call("GET", path, 422, params={"kind": "coverage-of-mars"})
        async with http.get(path) as resp:
            assert resp.status == 401
            assert resp.content_type == "application/problem+json"
    finally:
        async with http.post(f"/v1/models/{model['id']}/cancel", headers=ana.headers) as resp:
            assert resp.status in (202, 409), await resp.text()  # 409: the one step already ran
