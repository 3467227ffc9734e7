"""A style model's sample grids through the gateway: the owner always sees them; other people (signed
in or not) only while the model is public and its version was not withdrawn. Assets learns this from
the trainer's events (trainer.model.updated / trained / consent_withdrawn), so each change shows after
a short delay: the checks poll.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.support.artists import STYLE, TINY, WAIT_S, Artist, artist
from tests.support.waiting import eventually


async def _status(http: aiohttp.ClientSession, path: str, headers: dict[str, str] | None) -> int:
    async with http.get(path, headers=headers or {}) as resp:
        await resp.read()
        return resp.status


async def _everyone_gets(http: aiohttp.ClientSession, grids: list[str], headers: dict[str, str] | None,
                         want: int) -> None:
    """Every grid's bytes, thumbnail and metadata answer `want` for these headers (None: a visitor)."""
    async def settled() -> bool | None:
        for grid in grids:
            for path in (f"/v1/assets/{grid}/content", f"/v1/assets/{grid}/thumbnail", f"/v1/assets/{grid}"):
                if await _status(http, path, headers) != want:
                    return None
        return True

    await eventually(settled, 20.0)


async def _owner_gets_all(owner: Artist, grids: list[str]) -> None:
    for grid in grids:
        async with owner.http.get(f"/v1/assets/{grid}/content", headers=owner.headers) as resp:
            body = await resp.read()
            assert resp.status == 200 and body.startswith(b"\x89PNG"), (resp.status, body[:80])


async def test_sample_grids_follow_the_models_visibility_and_withdrawal(http) -> None:  # type: ignore[no-untyped-def]
    mira = await artist(http)
    works = [await mira.work(STYLE, seed) for seed in range(6)]
    accepted = await mira.call("POST", "/v1/models", 202, json={
        "name": "Sampled blobs", "work_ids": works, "steps": 40, **TINY})
    model = await mira.wait(accepted["id"], ("succeeded",), WAIT_S)
    (v1,) = model["versions"]
    grids = list(dict.fromkeys([*model["samples"], v1["sample_asset_id"]]))
    assert len(grids) >= 2 and all(grids), model  # progress grids and the version's final one
    stranger = await artist(http, consent=False)

    # Private: the grids are the owner's alone; to others they do not exist.
    await _owner_gets_all(mira, grids)
    await _everyone_gets(http, grids, stranger.headers, 404)
    await _everyone_gets(http, grids, None, 404)
    details = await mira.call("GET", f"/v1/assets/{grids[0]}", 200)
    assert details["public"] is False and details["kind"] == "sample"

    # Public: anyone, signed in or not, sees every grid (what the public model page shows).
    await mira.call("PATCH", f"/v1/models/{model['id']}", 200, json={"visibility": "public"})
    await _everyone_gets(http, grids, stranger.headers, 200)
    await _everyone_gets(http, grids, None, 200)
    page = await stranger.call("GET", f"/v1/models/{model['id']}", 200)
    assert set(page["samples"]) <= set(grids) and page["samples"]
    async with http.get(f"/v1/assets/{grids[-1]}/content", headers=stranger.headers) as resp:
        assert resp.status == 200 and (await resp.read()).startswith(b"\x89PNG")
    assert (await stranger.call("GET", f"/v1/assets/{grids[0]}", 200))["public"] is True
    # Other people still cannot delete them.
    await stranger.call("DELETE", f"/v1/assets/{grids[0]}", 403)

    # Private again: hidden again, the owner keeps them.
    await mira.call("PATCH", f"/v1/models/{model['id']}", 200, json={"visibility": "private"})
    await _everyone_gets(http, grids, stranger.headers, 404)
    await _everyone_gets(http, grids, None, 404)
    await _owner_gets_all(mira, grids)

    # Public, then consent withdrawn on a work version 1 was trained on: its grids stop being shown,
    # although the model stays public.
    await mira.call("PATCH", f"/v1/models/{model['id']}", 200, json={"visibility": "public"})
    await _everyone_gets(http, grids, stranger.headers, 200)
    await mira.call("PATCH", f"/v1/works/{works[0]}", 200, json={"allow_training": False})

    async def withdrawn() -> dict[str, Any] | None:
        m = await mira.call("GET", f"/v1/models/{model['id']}", 200)
        return m if m["versions"][0]["status"] == "consent_withdrawn" else None

    after = await eventually(withdrawn, 15.0)
    assert after["visibility"] == "public"
    await _everyone_gets(http, grids, stranger.headers, 404)
    await _everyone_gets(http, grids, None, 404)
    await _owner_gets_all(mira, grids)
