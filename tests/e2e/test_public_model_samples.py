"""A style model's sample grids through the gateway: the owner always sees them; other people (signed
in or not) only while the model is public and its version was not withdrawn. Assets learns this from
the trainer's events (trainer.model.updated / trained / consent_withdrawn), so each change shows after
a short delay: the checks poll.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any, Literal

import aiohttp

from demo.art import png_bytes, render
from shared.contracts import assets as asset_ops
from shared.contracts.events.catalog import ModelConsentWithdrawn, ModelSettingsChanged, ModelTrained
from shared.contracts.events.envelope import make_event
from shared.ids import new_id
from shared.messaging.publisher import publish_event
from shared.messaging.rpc import call
from tests.e2e.test_assets_access import User
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


async def _sample_grid(nc: Any, owner_id: str, model_id: str, version: int, seed: int) -> str:
    """A grid stored exactly as the trainer stores one (services/trainer/versions.py)."""
    stored = await call(nc, asset_ops.STORE, {
        "owner_id": owner_id, "kind": "sample", "content_type": "image/png",
        "data_b64": base64.b64encode(png_bytes(render(STYLE, seed, 64))).decode(),
        "meta": {"model_id": model_id, "version": version, "step": 10}}, timeout=10)
    return str(stored.id)


async def _announce(js: Any, payload: Any) -> None:
    await publish_event(js, make_event(payload, service="trainer", subject_id=payload.model_id), timeout=5.0)


def _settings(model_id: str, owner_id: str, visibility: Literal["public", "private"]) -> ModelSettingsChanged:
    return ModelSettingsChanged(model_id=model_id, owner_id=owner_id, name="m", visibility=visibility,
                                training_mining="notAllowed", licence="all-rights-reserved")


def _trained(model_id: str, owner_id: str, version: int, visibility: Literal["public", "private"]) -> ModelTrained:
    return ModelTrained(model_id=model_id, owner_id=owner_id, version=version, architecture="vae", image_size=32,
                        steps=10, metrics={"swd": 1.0}, repository_path=f"{model_id}/{version}",
                        visibility=visibility)


async def test_stale_trained_events_other_owners_and_withdrawn_versions_do_not_show_grids(
        http: Any, endpoints: Any, platform: Any, nc: Any, js: Any) -> None:
    owner, other, stranger = User(endpoints), User(endpoints), User(endpoints)
    model_id = new_id()
    v1 = await _sample_grid(nc, owner.id, model_id, 1, 301)
    v2 = await _sample_grid(nc, owner.id, model_id, 2, 302)
    foreign = await _sample_grid(nc, other.id, model_id, 1, 303)  # claims the model, is not its owner's

    # The owner made the model public: both versions' grids show, the foreign one never does.
    await _announce(js, _settings(model_id, owner.id, "public"))
    await _everyone_gets(http, [v1, v2], stranger.headers, 200)
    # The owner hid it while version 2 trained; version 2's trained event, published after, still carries
    # the visibility its job started with (public): it must not show the grids again.
    await _announce(js, _settings(model_id, owner.id, "private"))
    await _everyone_gets(http, [v1, v2], stranger.headers, 404)
    await _announce(js, _trained(model_id, owner.id, 2, "public"))
    marker = new_id()  # an event after it, on another model: once that shows, the stale one was handled
    marker_grid = await _sample_grid(nc, owner.id, marker, 1, 304)
    await _announce(js, _settings(marker, owner.id, "public"))
    await _everyone_gets(http, [marker_grid], stranger.headers, 200)
    await _everyone_gets(http, [v1, v2], stranger.headers, 404)

    # Public again, then version 1 withdrawn (twice: a redelivery changes nothing): only v2 shows.
    await _announce(js, _settings(model_id, owner.id, "public"))
    await _everyone_gets(http, [v1, v2], None, 200)
    withdrawal = ModelConsentWithdrawn(model_id=model_id, owner_id=owner.id, version=1, work_ids=[new_id()],
                                       reason="consent_withdrawn", withdrawn_at=datetime.now(UTC))
    await _announce(js, withdrawal)
    await _announce(js, withdrawal)
    await _everyone_gets(http, [v1], None, 404)
    await _everyone_gets(http, [v2], stranger.headers, 200)
    await _everyone_gets(http, [foreign], stranger.headers, 404)
    await _everyone_gets(http, [v1, v2], owner.headers, 200)  # the owner's grids stay the owner's
