"""The consent, sharing and generation-control screens in a real browser (Debian Chromium), only
through the web app against the session platform:

- an artist reads a version's training record (works, shares), makes the model public with a
  licence, generates in mode edit along a learned direction ("Edit this" from a sampled output);
- a fan finds it among the public models, reads its page and generates from it;
- the artist withdraws consent for one work on "Where my works were used": the model page says the
  version no longer generates (new generations are a 410) and "Retrain without these works" makes
  v2, trained on the rest; the training-uses page shows the withdrawal;
- a generation waiting in a full queue shows its place and the time left, and Cancel stops it;
- a version trained before training records were kept says so instead of listing no works.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from minio import Minio
from playwright.async_api import Browser, Page, expect

from services.trainer import consent_store
from services.trainer import store as trainer_store
from shared.db import create_pool
from shared.ids import new_id
from shared.settings import DatabaseSettings
from tests.e2e.test_webapp_a11y import audit
from tests.e2e.test_webapp_flow import image_loaded
from tests.support.members import Member, sign_up
from tests.support.screens import members_on_screen
from tests.support.style_models import announce_trained, tiny_generator_onnx, upload_model

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]
TINY_MODEL = {"name": "Lending", "architecture": "vae", "image_size": 32, "steps": 20, "width": 16, "batch_size": 8}
TRAIN_TIMEOUT_MS = 150_000
GEN_TIMEOUT_MS = 60_000


async def _until(check: Any, what: str, timeout_s: float = 150.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := await check():
            return value
        await asyncio.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


async def snap(page: Page, name: str) -> None:
    """With ATELIER_SCREENSHOTS=DIR, keep the page as it is now at desktop width and at 390 px
    (DIR/app-NAME-desktop.png, -phone.png): how docs/images/ is made."""
    folder = os.environ.get("ATELIER_SCREENSHOTS")
    if not folder:
        return
    size = page.viewport_size or {"width": 1280, "height": 860}
    # A sticky header would be painted mid-way down a full-page shot.
    unstick = await page.add_style_tag(content="header.top { position: static !important; }")
    await page.set_viewport_size({"width": 1280, "height": 860})
    await page.wait_for_timeout(300)
    await page.screenshot(path=str(Path(folder) / f"app-{name}-desktop.png"), full_page=True)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.wait_for_timeout(300)
    await page.screenshot(path=str(Path(folder) / f"app-{name}-phone.png"), full_page=True)
    await page.set_viewport_size(size)
    await unstick.evaluate("(tag) => tag.remove()")


async def axe_clean(page: Page, where: str) -> None:
    """axe-core finds nothing serious or critical on the page as it is now, nor a "null" shown."""
    problems: list[str] = []
    await audit(page, where, problems, phone=False)
    assert not problems, "\n".join(problems)


async def trained(artist: Member, model_id: str, version: int) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        got: dict[str, Any] = await artist.call("GET", f"/v1/models/{model_id}", 200)
        assert got["status"] not in ("failed", "canceled"), got
        ready = got["status"] == "succeeded" and any(v["version"] == version for v in got["versions"])
        return got if ready else None
    return await _until(done, f"v{version} of the model to train")  # type: ignore[no-any-return]


async def test_record_sharing_edit_withdrawal_and_retrain_on_screen(
        browser: Browser, gateway_url: str, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    artist = await sign_up(http, "lender_")
    fan = await sign_up(http, "borrower_")
    await artist.call("PATCH", "/v1/me", 200, json={"allow_training": True})
    works = [await artist.publish(f"Lent {i}", allow_training=True) for i in range(3)]
    model = await artist.call("POST", "/v1/models", 202, json={**TINY_MODEL, "work_ids": [w["id"] for w in works]})
    await trained(artist, model["id"], 1)
    async with members_on_screen(browser, gateway_url, tmp_path, {"artist": artist, "fan": fan}) as pages:
        page, fan_page = pages["artist"], pages["fan"]
        await _record_and_sharing(page, gateway_url, model["id"], fan)
        await _edit_mode(page, gateway_url, model["id"])
        await _fan_generates_from_the_public_model(fan_page, gateway_url)
        await _withdraw_and_retrain(page, gateway_url, http, artist, fan, model["id"], works[0])


async def _record_and_sharing(page: Page, gateway_url: str, model_id: str, fan: Member) -> None:
    # The training record: which works, by whom, what share of the images.
    await page.goto(f"{gateway_url}/#/models/{model_id}")
    record = page.locator('#versions li[data-version="1"] .training-record')
    await expect(record.locator("summary")).to_have_text("Trained on 3 works")
    await record.locator("summary").click()
    items = record.locator("li")
    await expect(items).to_have_count(3)
    line = re.compile(r"“Lent \d” by @lender_\w+ — 1 image, 33\.3% of the training set")
    for i in range(3):
        await expect(items.nth(i)).to_contain_text(line)
    # Private at first: the fan is told so; then public with a licence.
    async with fan.http.get(f"/v1/models/{model_id}", headers=fan.headers) as resp:
        assert resp.status == 404
    form = page.locator("#sharing-form")
    await form.get_by_label("Visibility").select_option("public")
    await form.get_by_label("Licence of generated images").select_option("CC-BY-4.0")
    await form.get_by_role("button", name="Save sharing").click()
    await expect(page.locator("#sharing-status")).to_contain_text("the model is public")
    await axe_clean(page, "the owner's model page with its record open")
    await snap(page, "model-record")
    shared = await fan.call("GET", f"/v1/models/{model_id}", 200)
    assert shared["visibility"] == "public" and shared["licence"] == "CC-BY-4.0", shared


async def _edit_mode(page: Page, gateway_url: str, model_id: str) -> None:
    # Sample two images, then "Edit this" on the first: mode edit, its seed, one image, the direction focused.
    await page.goto(f"{gateway_url}/#/generate/{model_id}")
    await page.get_by_label("Mode", exact=True).select_option("sample")
    await page.get_by_label("Count").fill("2")
    await page.get_by_label("Seed", exact=True).fill("9")
    await page.get_by_role("button", name="Generate", exact=True).click()
    await expect(page.locator("#generation-status")).to_have_text("succeeded", timeout=GEN_TIMEOUT_MS)
    await page.get_by_role("button", name="Edit this: output 0, seed 9").click()
    await expect(page.get_by_label("Mode", exact=True)).to_have_value("edit")
    await expect(page.get_by_label("Seed", exact=True)).to_have_value("9")
    await expect(page.get_by_label("Count")).to_have_value("1")
    direction = page.get_by_label("Direction")
    await expect(direction).to_be_focused()
    await expect(direction.locator("option").first).to_have_text(re.compile(r"% of the variation\)$"))
    await expect(page.get_by_label("Base seed")).to_be_hidden()
    options = await direction.locator("option").count()
    assert options >= 2, "a trained version ships several directions"
    await direction.select_option(index=1)
    chosen = int(await direction.input_value())
    await page.get_by_label("Amount").fill("2.5")
    await page.get_by_role("button", name="Generate", exact=True).click()
    await expect(page.locator("#generation-status")).to_have_text("succeeded", timeout=GEN_TIMEOUT_MS)
    card = page.locator("#generation .output-card")
    await expect(card).to_have_count(1)
    await expect(card.first).to_contain_text(f"seed 9 moved +2.5 along direction {chosen}")
    await axe_clean(page, "generate in mode edit")
    await snap(page, "generate-edit")
    # Its page describes the edit, and "reuse settings" puts the edit back.
    await page.locator("#generation h2 a").click()
    await expect(page.locator("#generation-settings")).to_contain_text(f"seed 9, direction {chosen}, amount +2.5")
    await page.locator("#reuse-settings").click()
    await expect(page.get_by_label("Mode", exact=True)).to_have_value("edit")
    await expect(page.get_by_label("Direction")).to_have_value(str(chosen))
    await expect(page.get_by_label("Amount")).to_have_value("2.5")


async def _fan_generates_from_the_public_model(page: Page, gateway_url: str) -> None:
    await page.get_by_role("link", name="Style models").click()
    await page.locator("#public-models-link").click()
    await expect(page.get_by_role("heading", name="Public style models")).to_be_visible()
    tile = page.locator("#public-models .tile", has_text="Lending").first
    await expect(tile).to_be_visible()
    await page.wait_for_timeout(500)  # the Style models page's own list, had it landed here, would show now
    await expect(page.locator("#view")).not_to_contain_text("No style models yet")
    await snap(page, "public-models")
    await tile.click()
    await expect(page.get_by_role("heading", name="Lending")).to_be_visible()
    await expect(page.locator("#model-licence")).to_contain_text("CC BY 4.0")
    await expect(page.locator(".owner a")).to_have_text(re.compile(r"^@lender_\w+$"))
    await page.locator('#versions li[data-version="1"] .training-record summary').click()
    await expect(page.locator('#versions li[data-version="1"] .training-record li')).to_have_count(3)
    # The owner's sample grids show to the fan on the public model's page, each loaded, none broken.
    grids = page.locator("#public-samples img.sample")
    await expect(grids.first).to_be_visible()
    for i in range(await grids.count()):
        await image_loaded(grids.nth(i))
    await expect(page.locator("img[alt='image unavailable']")).to_have_count(0)
    await snap(page, "public-model")
    await page.locator("#generate-link").click()
    await expect(page.get_by_label("Style model")).to_contain_text("shared by its artist")
    await page.get_by_label("Mode", exact=True).select_option("sample")
    await page.get_by_label("Count").fill("2")
    await page.get_by_role("button", name="Generate", exact=True).click()
    await expect(page.locator("#generation-status")).to_have_text("succeeded", timeout=GEN_TIMEOUT_MS)
    await expect(page.locator("#generation .output-card")).to_have_count(2)


async def _withdraw_and_retrain(page: Page, gateway_url: str, http: aiohttp.ClientSession, artist: Member,
                                fan: Member, model_id: str, lent: dict[str, Any]) -> None:
    # Where my works were used: each work lists the model and version, and switches its consent off.
    await page.goto(f"{gateway_url}/#/models")
    await page.locator("#training-uses-link").click()
    use = page.locator(f'#training-uses li.use[data-work-id="{lent["id"]}"]')
    await expect(use).to_contain_text("Lending")
    await expect(use).to_contain_text("v1: 33.3% of its training images")
    await expect(use.locator(".badge", has_text="in use")).to_be_visible()
    switch = use.get_by_label(f"Allow training on “{lent['title']}”")
    await expect(switch).to_be_checked()
    await switch.uncheck()
    await expect(use).to_have_class(re.compile(r"\bwithdrawn\b"))

    async def withdrawn() -> bool:
        got = await artist.call("GET", f"/v1/models/{model_id}", 200)
        return bool(got["consent_withdrawn"])
    await _until(withdrawn, "the version to lose consent", 30)
    async with http.post("/v1/generations", headers=fan.headers, json={"model_id": model_id, "count": 1}) as resp:
        assert resp.status == 410, await resp.text()

    # The model page says so, names the work, and retrains without it.
    await page.goto(f"{gateway_url}/#/models/{model_id}")
    notice = page.locator("#consent-withdrawn")
    await expect(notice).to_contain_text("v1 no longer generates")
    await expect(notice).to_contain_text(f"“{lent['title']}”")
    await expect(page.locator('#versions > li[data-version="1"] > .badge.warn')).to_have_text("consent withdrawn")
    await expect(page.locator("#generate-link")).to_be_hidden()
    await axe_clean(page, "a model page with consent withdrawn")
    await snap(page, "model-withdrawn")
    await notice.get_by_label("Steps").fill("20")
    await notice.get_by_role("button", name="Retrain without these works").click()
    await expect(page.locator("#retrained")).to_contain_text("v2 was trained without them", timeout=TRAIN_TIMEOUT_MS)
    record = page.locator('#versions li[data-version="2"] .training-record')
    await expect(record.locator("summary")).to_have_text("Trained on 2 works")
    await expect(page.locator("#generate-link")).to_be_visible()
    retrained = await artist.call("GET", f"/v1/models/{model_id}", 200)
    v2 = retrained["versions"][-1]
    assert v2["status"] == "active" and lent["id"] not in {w["work_id"] for w in v2["training_works"]}
    assert [v["training_record"] for v in retrained["versions"]] == ["recorded", "recorded"]

    # The training-uses page now shows the withdrawal.
    await page.goto(f"{gateway_url}/#/training-uses")
    use = page.locator(f'#training-uses li.use[data-work-id="{lent["id"]}"]')
    await expect(use.locator(".badge", has_text="consent withdrawn").first).to_be_visible()
    await expect(use.locator('li[data-version="1"] .badge')).to_contain_text("withdrawn")
    await expect(use.get_by_label(f"Allow training on “{lent['title']}”")).not_to_be_checked()
    await axe_clean(page, "training uses after a withdrawal")
    await snap(page, "training-uses")


async def legacy_public_model(endpoints: Any, js: Any, owner: Member, image_size: int = 128) -> str:
    """A public model whose version was trained before training records were kept: the trainer has
    the model and its version but no record; inference serves its exported generator."""
    model_id, version = new_id(), 1
    client = Minio(endpoints.s3_endpoint, access_key=endpoints.s3_access_key, secret_key=endpoints.s3_secret_key,
                   secure=False)
    path = await asyncio.to_thread(upload_model, client, endpoints.s3_bucket, model_id, version,
                                   tiny_generator_onnx(3, image_size=image_size))
    pool = await create_pool(DatabaseSettings(database_url=endpoints.database_url), schema="trainer")
    try:
        async with pool.acquire() as conn, conn.transaction():
            await trainer_store.insert_model(conn, {
                "id": model_id, "owner_id": owner.id, "name": "Old timer", "architecture": "dcgan",
                "image_size": image_size, "width": 32, "work_ids": [new_id()], "asset_ids": [new_id()]})
            job = await trainer_store.insert_job(conn, {"id": new_id(), "model_id": model_id, "owner_id": owner.id,
                                                        "version": version, "kind": "train", "steps": 1,
                                                        "batch_size": 1})
            await trainer_store.finish(conn, job.id, "succeeded", step=1)
            await trainer_store.insert_version(conn, {
                "model_id": model_id, "version": version, "job_id": job.id, "steps": 1, "metrics": {"swd": 1.0},
                "dataset_sha256": "0" * 64, "repository_path": path})
            await consent_store.update_settings(conn, model_id, {"visibility": "public"})
    finally:
        await pool.close()
    await announce_trained(js, model_id, owner.id, version, image_size=image_size, visibility="public")
    return model_id


async def accepted(member: Member, body: dict[str, Any], timeout_s: float = 60.0) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        async with member.http.post("/v1/generations", json=body, headers=member.headers) as resp:
            if resp.status == 202:
                return str((await resp.json())["id"])
            assert resp.status in (404, 409), await resp.text()  # the model event is still in flight
        assert time.monotonic() < deadline, "the model never became usable"
        await asyncio.sleep(0.3)


async def test_a_queued_generation_shows_its_place_and_cancels_and_an_old_version_has_no_record(
        browser: Browser, gateway_url: str, http: aiohttp.ClientSession, endpoints: Any, js: Any,
        tmp_path: Path) -> None:
    owner = await sign_up(http, "oldtimer_")
    model_id = await legacy_public_model(endpoints, js, owner)
    first = await accepted(owner, {"model_id": model_id, "count": 1})  # loaded, and one generation timed (ETA)

    async def done() -> bool:
        return (await owner.call("GET", f"/v1/generations/{first}", 200))["status"] == "succeeded"
    await _until(done, "the first generation", 60)
    fan = await sign_up(http, "waiter_")
    ahead: list[tuple[Member, str]] = []
    try:
        async with members_on_screen(browser, gateway_url, tmp_path, {"fan": fan}) as pages:
            page = pages["fan"]
            await page.goto(f"{gateway_url}/#/generate/{model_id}")
            await expect(page.get_by_label("Style model")).to_have_value(model_id)
            # Others fill the queue just before the fan asks.
            for _ in range(3):
                user = await sign_up(http, "queue_")
                ahead += [(user, await accepted(user, {"model_id": model_id, "count": 16})) for _ in range(6)]
            await page.get_by_label("Count").fill("2")
            await page.get_by_role("button", name="Generate", exact=True).click()
            info = page.locator("#queue-info")
            waiting = re.compile(r"^Queued: (next|\d+(st|nd|rd|th)) in line · about \d+ (s|min) left$")
            await expect(info).to_have_text(waiting)
            place = re.search(r"(\d+)(?:st|nd|rd|th) in line", await info.inner_text())
            if folder := os.environ.get("ATELIER_SCREENSHOTS"):  # the place is gone in a moment: one shot
                await page.screenshot(path=str(Path(folder) / "app-generation-queued-desktop.png"))
            await page.locator("#cancel-generation").click()
            assert place and int(place.group(1)) > 1, "it waited behind the others"
            await expect(page.locator("#generation-status")).to_have_text("canceled")
            await expect(info).to_have_text(re.compile(r"^Canceled: [01] of 2 images made$"))
            await expect(page.locator("#cancel-generation")).to_be_hidden()
            generation_id = await page.locator("#generation").get_attribute("data-id")
            got = await fan.call("GET", f"/v1/generations/{generation_id}", 200)
            assert got["status"] == "canceled", got
            await expect(info).to_have_text(f"Canceled: {len(got['outputs'])} of 2 images made")
            await axe_clean(page, "a canceled generation")

            # The old version has no training record, and says so (the API too).
            model = await owner.call("GET", f"/v1/models/{model_id}", 200)
            assert model["versions"][0]["training_record"] == "unavailable", model["versions"][0]
            assert model["versions"][0]["training_works"] == []
            await page.goto(f"{gateway_url}/#/models/{model_id}")
            record = page.locator('#versions li[data-version="1"] .training-record')
            await expect(record.locator("summary")).to_have_text("Training record: not available")
            await record.locator("summary").click()
            await expect(record).to_contain_text("trained before training records were kept")
    finally:
        for user, generation_id in ahead:  # leave the queue empty for the next tests
            async with http.post(f"/v1/generations/{generation_id}/cancel", headers=user.headers):
                pass
