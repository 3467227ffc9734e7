"""Rights protection through the gateway: an upload that nearly matches another artist's published
work (resized, re-encoded) is recorded as a near duplicate; its uploader cannot publish it as
original human work without acknowledging it; the original's author sees it in
`GET /v1/me/possible-copies` and `assets.asset.near_duplicate` is on the ASSETS stream."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import aiohttp
from PIL import Image

from demo.art import render
from tests.support.members import Member, sign_up
from tests.support.streams import stored_events, wait_outbox_relayed

PROBLEM = "application/problem+json"


def png(style: str, seed: int, size: int = 512) -> bytes:
    buf = io.BytesIO()
    render(style, seed, size).save(buf, "PNG")
    return buf.getvalue()


def reencoded(data: bytes, scale: float, quality: int) -> bytes:
    """What a copier does: scale the picture and save it as JPEG."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    small = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


async def upload(member: Member, data: bytes, content_type: str = "image/png") -> str:
    asset = await member.call("POST", "/v1/assets", 201, data=data,
                              headers={**member.headers, "Content-Type": content_type})
    return str(asset["id"])


async def shown_publicly(http: aiohttp.ClientSession, asset_id: str, timeout_s: float = 30.0) -> None:
    """Assets learns a work's visibility from community's events: wait until it serves the asset to anyone."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        async with http.get(f"/v1/assets/{asset_id}") as resp:
            if resp.status == 200:
                return
        assert asyncio.get_running_loop().time() < deadline, "assets never learned that the work is shown"
        await asyncio.sleep(0.2)


async def post_work(member: Member, **body: Any) -> tuple[int, str, dict[str, Any]]:
    async with member.http.post("/v1/works", json={"title": "mine", **body}, headers=member.headers) as resp:
        return resp.status, resp.content_type, await resp.json()


async def copies(member: Member, query: str = "") -> dict[str, Any]:
    return await member.call("GET", f"/v1/me/possible-copies{query}", 200)  # type: ignore[no-any-return]


async def test_a_resized_reencoded_copy_is_flagged_refused_as_human_and_shown_to_the_author(
        http: aiohttp.ClientSession, js: Any, endpoints: Any) -> None:
    alice, bob = await sign_up(http, "ra_"), await sign_up(http, "rb_")
    original = png("waves", 7001)
    original_asset = await upload(alice, original)
    alice_work = await alice.call("POST", "/v1/works", 201, json={
        "title": "Waves, by hand", "asset_ids": [original_asset], "origin": "human"})
    await shown_publicly(http, original_asset)

    # Bob uploads it at 0.8x as JPEG q 80: stored (the upload itself is fine) and recorded.
    copy_asset = await upload(bob, reencoded(original, 0.8, 80), "image/jpeg")

    # As original human work: a 409 that names Alice's work and how to acknowledge; nothing created.
    status, content_type, problem = await post_work(bob, asset_ids=[copy_asset])
    assert status == 409 and content_type == PROBLEM, problem
    assert alice_work["id"] in problem["detail"] and "acknowledge_similarity" in problem["detail"]
    assert problem["reason"] == "near_duplicate" and problem["acknowledge_with"] == {"acknowledge_similarity": True}
    [named] = problem["originals"]
    assert named["asset_id"] == copy_asset and named["original_work_id"] == alice_work["id"]
    assert named["original_author_id"] == alice.id and 0 <= named["distance"] <= 6
    assert (await bob.call("GET", f"/v1/works?author={bob.username}", 200))["items"] == []

    # AI or collab work claims no sole authorship; acknowledged human work is accepted and says so.
    collab = await bob.call("POST", "/v1/works", 201, json={
        "title": "after Alice", "asset_ids": [copy_asset], "origin": "collab", "visibility": "private"})
    assert collab["similarity_acknowledged"] is False
    acknowledged = await bob.call("POST", "/v1/works", 201, json={
        "title": "after Alice", "asset_ids": [copy_asset], "origin": "human", "acknowledge_similarity": True})
    assert acknowledged["similarity_acknowledged"] is True
    assert (await bob.call("GET", f"/v1/works/{acknowledged['id']}", 200))["similarity_acknowledged"] is True

    # Alice is told: the list names who, when, how near, and the public work showing the copy (as soon
    # as assets has seen that work's event).
    await shown_publicly(http, copy_asset)
    listing = await copies(alice)
    [item] = listing["items"]
    assert item["uploader_id"] == bob.id and item["original_work_id"] == alice_work["id"]
    assert item["original_asset_id"] == original_asset and item["distance"] == named["distance"]
    assert item["published_in"] == [acknowledged["id"]]  # the private collab work is not revealed
    assert "asset_id" not in item and listing["next_cursor"] is None
    assert (await copies(bob))["items"] == []  # Bob's upload is nobody's original

    # ... and the event is on the ASSETS stream.
    await wait_outbox_relayed(endpoints.database_url, "assets")
    events = [e for e in await stored_events(js, "assets.asset.near_duplicate") if e["data"]["asset_id"] == copy_asset]
    assert [e["data"] for e in events] == [{
        "asset_id": copy_asset, "uploader_id": bob.id, "original_asset_id": original_asset,
        "original_work_id": alice_work["id"], "original_author_id": alice.id, "distance": named["distance"],
        "dhash_distance": events[0]["data"]["dhash_distance"]}]
    assert events[0]["type"] == "atelier.assets.asset.near_duplicate"

    # Another artist's unrelated demo art is not flagged: human work without any acknowledgement.
    unrelated = await upload(bob, png("geometric", 7002))
    plain = await bob.call("POST", "/v1/works", 201, json={"title": "squares", "asset_ids": [unrelated]})
    assert plain["similarity_acknowledged"] is False

    # Swapping the copy into that human work by PATCH needs the acknowledgement too.
    async with http.patch(f"/v1/works/{plain['id']}", json={"asset_ids": [copy_asset]}, headers=bob.headers) as resp:
        assert resp.status == 409 and resp.content_type == PROBLEM, await resp.text()
    assert (await bob.call("GET", f"/v1/works/{plain['id']}", 200))["asset_ids"] == [unrelated]
    patched = await bob.call("PATCH", f"/v1/works/{plain['id']}", 200,
                             json={"asset_ids": [copy_asset], "acknowledge_similarity": True})
    assert patched["similarity_acknowledged"] is True

    # Alice's own re-upload of her picture is not a copy of another artist (nor of Bob's public copy).
    own = await upload(alice, reencoded(original, 0.5, 60), "image/jpeg")
    mine = await alice.call("POST", "/v1/works", 201, json={"title": "Waves again", "asset_ids": [own]})
    assert mine["similarity_acknowledged"] is False
    assert [i["id"] for i in (await copies(alice))["items"]] == [item["id"]]


async def test_possible_copies_pages_and_an_unlisted_original_stays_unnamed(http: aiohttp.ClientSession) -> None:
    alice, bob = await sign_up(http, "ra_"), await sign_up(http, "rb_")
    original = png("stripes", 7101)
    shared_asset = await upload(alice, original)
    unlisted = await alice.call("POST", "/v1/works", 201, json={
        "title": "for friends", "asset_ids": [shared_asset], "visibility": "unlisted"})
    await shown_publicly(http, shared_asset)

    first = await upload(bob, reencoded(original, 0.8, 80), "image/jpeg")
    second = await upload(bob, reencoded(original, 0.6, 70), "image/jpeg")
    for asset_id in (first, second):
        status, _, problem = await post_work(bob, asset_ids=[asset_id])
        assert status == 409, problem
        # Bob holds a similar picture, not the link: the unlisted work and its author are not named.
        assert unlisted["id"] not in problem["detail"] and alice.id not in problem["detail"]
        assert problem["originals"] == [{"asset_id": asset_id, "distance": problem["originals"][0]["distance"]}]

    page1 = await copies(alice, "?limit=1")
    assert len(page1["items"]) == 1 and page1["next_cursor"]
    page2 = await copies(alice, f"?limit=1&cursor={page1['next_cursor']}")
    assert len(page2["items"]) == 1 and page2["next_cursor"] is None
    both = page1["items"] + page2["items"]
    assert len({i["id"] for i in both}) == 2 and all(i["original_work_id"] == unlisted["id"] for i in both)
    assert both[0]["detected_at"] >= both[1]["detected_at"]  # newest first

    async with http.get("/v1/me/possible-copies?cursor=not-a-cursor", headers=alice.headers) as resp:
        assert resp.status == 400 and resp.content_type == PROBLEM, await resp.text()
    async with http.get("/v1/me/possible-copies?limit=0", headers=alice.headers) as resp:
        assert resp.status in (400, 422) and resp.content_type == PROBLEM, await resp.text()
    async with http.get("/v1/me/possible-copies") as resp:
        assert resp.status == 401
