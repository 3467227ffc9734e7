"""The whole creative loop in a real browser (headless Chromium), only through the web app: an
artist signs up, drops eight procedural images of one style onto the upload page, consents to
training, trains a tiny style model while the progress bar moves and sample grids arrive, generates
images, rates one and publishes it; a second user who follows the artist sees the AI work arrive
in their following feed, labelled "AI-generated · provenance verified".

On failure, screenshots of both browser pages are written to the test's tmp directory (the path is
in the failure message). Set ATELIER_WEBAPP_SHOTS=<dir> to keep a screenshot of every step.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import time
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from demo.art import png_bytes, render

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
PASSWORD = "correct horse battery"
STYLE = "blobs"
IMAGES = 8
# A tiny VAE: a few seconds of training on 2 cores, long enough to report progress several times.
STEPS = 60
TRAIN_TIMEOUT_MS = 120_000
UI_TIMEOUT_MS = 20_000
BLOB_URL = re.compile(r"^blob:")


class Shots:
    """Screenshots of the pages under test: every step when asked for, all of them on failure."""

    def __init__(self, failure_dir: Path) -> None:
        self.failure_dir = failure_dir
        self.step_dir = Path(os.environ["ATELIER_WEBAPP_SHOTS"]) if os.environ.get("ATELIER_WEBAPP_SHOTS") else None
        self.pages: dict[str, Page] = {}
        self.count = 0

    async def step(self, name: str, page: Page) -> None:
        if self.step_dir is None:
            return
        self.step_dir.mkdir(parents=True, exist_ok=True)
        self.count += 1
        await page.screenshot(path=str(self.step_dir / f"{self.count:02d}-{name}.png"), full_page=True)

    async def on_failure(self) -> list[str]:
        paths = []
        for name, page in self.pages.items():
            path = self.failure_dir / f"failure-{name}.png"
            try:
                await page.screenshot(path=str(path), full_page=True, timeout=5_000)
                paths.append(str(path))
            except Exception as exc:  # a screenshot must not hide the real failure
                paths.append(f"{name}: no screenshot ({exc})")
        return paths


async def new_page(context: BrowserContext, errors: list[str], who: str) -> Page:
    page = await context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.on("pageerror", lambda exc: errors.append(f"{who}: {exc}"))
    return page


async def sign_up(page: Page, gateway_url: str, username: str) -> None:
    await page.goto(f"{gateway_url}/#/signup")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Email").fill(f"{username}@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    await expect(page.get_by_role("heading", name="Following")).to_be_visible()
    await expect(page.locator("#live-status")).to_have_text("● live")


async def drop_images(page: Page, images: list[tuple[str, bytes]]) -> None:
    """Drag and drop files onto the drop zone: a real `drop` event carrying a DataTransfer."""
    payload = [{"name": name, "b64": base64.b64encode(data).decode()} for name, data in images]
    await page.locator(".drop").evaluate("""(zone, files) => {
        const transfer = new DataTransfer();
        for (const f of files) {
            const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
            transfer.items.add(new File([bytes], f.name, { type: "image/png" }));
        }
        zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
        zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }""", payload)


async def watch_progress(page: Page) -> None:
    """Record every value the progress bar shows (attribute changes), to check that it moved."""
    await page.locator("#train-progress").evaluate("""(bar) => {
        window.__progress = [Number(bar.getAttribute("aria-valuenow"))];
        new MutationObserver(() => window.__progress.push(Number(bar.getAttribute("aria-valuenow"))))
            .observe(bar, { attributes: true, attributeFilter: ["aria-valuenow"] });
    }""")


async def image_loaded(img: Locator) -> None:
    """The image was fetched with the token (a blob: URL) and decodes to real pixels."""
    await expect(img).to_have_attribute("src", BLOB_URL)
    width = await img.evaluate("(img) => img.decode().then(() => img.naturalWidth)")
    assert width > 0


async def test_artist_trains_generates_publishes_and_a_follower_sees_the_ai_work(
        browser: Browser, gateway_url: str, tmp_path: Path) -> None:
    shots = Shots(tmp_path)
    errors: list[str] = []
    artist_name, fan_name = f"art_{secrets.token_hex(4)}", f"fan_{secrets.token_hex(4)}"
    artist_ctx, fan_ctx = await browser.new_context(), await browser.new_context()
    try:
        artist = await new_page(artist_ctx, errors, "artist")
        fan = await new_page(fan_ctx, errors, "fan")
        shots.pages = {"artist": artist, "fan": fan}
        await run_flow(artist, fan, gateway_url, artist_name, fan_name, shots)
        assert not errors, errors
    except BaseException as exc:
        paths = await shots.on_failure()
        raise AssertionError(f"{exc}\nscreenshots: {', '.join(paths)}\nbrowser errors: {errors}") from exc
    finally:
        await artist_ctx.close()
        await fan_ctx.close()


async def run_flow(artist: Page, fan: Page, gateway_url: str, artist_name: str, fan_name: str,
                   shots: Shots) -> None:
    # The fan signs up first and follows the artist once the artist exists.
    await sign_up(artist, gateway_url, artist_name)
    await sign_up(fan, gateway_url, fan_name)
    await fan.goto(f"{gateway_url}/#/users/{artist_name}")
    await fan.locator("#follow").click()
    await expect(fan.locator("#follow")).to_have_text("✓ Following")
    await fan.goto(f"{gateway_url}/#/feed/following")
    await expect(fan.locator(".empty-feed")).to_be_visible()

    # Upload: eight images of one style, dropped at once, published as a trainable series.
    await artist.goto(f"{gateway_url}/#/upload")
    # Seeds no other test publishes: the web app publishes them as human work, which a near duplicate
    # of another artist's work would not be without an acknowledgement.
    images = [(f"{STYLE}-{seed}.png", png_bytes(render(STYLE, seed, 64))) for seed in range(100, 100 + IMAGES)]
    await drop_images(artist, images)
    await expect(artist.locator("#upload-status")).to_have_text(f"{IMAGES} images uploaded")
    await expect(artist.locator(".tile.uploaded img")).to_have_count(IMAGES)
    await artist.get_by_label("Title").fill("Blob study")
    await artist.get_by_label("Tags (comma separated)").fill(f"{STYLE}, procedural")
    await artist.get_by_label("Allow style models to be trained on this work").check()
    await artist.get_by_label("Publish each image as its own work").check()
    await shots.step("upload", artist)
    await artist.get_by_role("button", name="Publish").click()
    await expect(artist.get_by_role("heading", name=artist_name)).to_be_visible()
    await expect(artist.locator(".grid .tile")).to_have_count(IMAGES)

    # Train: switch on the account's consent from the page, select every work, tiny config.
    await artist.goto(f"{gateway_url}/#/models/new")
    await expect(artist.locator("#consent .notice")).to_contain_text("does not allow")
    await shots.step("consent", artist)
    await artist.get_by_role("button", name="Allow training on my works").click()
    await expect(artist.locator("#consent .notice.ok")).to_be_visible()
    await artist.locator("#select-all").click()
    await expect(artist.locator("#picked")).to_have_text(f"{IMAGES} works selected")
    await artist.get_by_label("Name").fill("Blobs")
    await artist.get_by_label("Architecture").select_option("vae")
    await artist.get_by_label("Image size").select_option("32")
    await artist.get_by_label("Steps").fill(str(STEPS))
    await artist.get_by_label("Batch size").fill("16")
    await artist.get_by_label("Model width").select_option("16")
    await shots.step("train-form", artist)
    await artist.get_by_role("button", name="Start training").click()
    await expect(artist.locator("#train-progress")).to_be_visible()
    await watch_progress(artist)
    started = time.monotonic()

    await expect(artist.locator("#model-status")).to_have_text("succeeded", timeout=TRAIN_TIMEOUT_MS)
    trained_s = time.monotonic() - started
    seen = await artist.evaluate("window.__progress")
    assert any(0 < v < 100 for v in seen), f"the progress bar never showed a step between 0 and 100: {seen}"
    assert seen[-1] == 100 and seen == sorted(seen), seen
    await expect(artist.locator("#train-info")).to_contain_text(f"step {STEPS}/{STEPS}")
    assert await artist.locator("#samples img.sample").count() >= 1
    await expect(artist.locator("#no-samples")).to_be_hidden()
    await image_loaded(artist.locator("#samples img.sample").first)
    await expect(artist.locator("#versions")).to_contain_text("v1")
    await expect(artist.locator("#versions .quality-figure")).to_contain_text("than before training")
    assert "SWD" in (await artist.locator("#versions .quality-figure").first.get_attribute("title") or "")
    await shots.step(f"trained-in-{trained_s:.0f}s", artist)
    live_samples = await artist.locator("#samples img.sample").count()
    await artist.reload()
    await expect(artist.locator("#samples img.sample")).to_have_count(live_samples)
    await expect(artist.locator("#no-samples")).to_be_hidden()

    # Generate: seeded samples, which arrive without a reload.
    await artist.locator("#generate-link").click()
    await expect(artist.get_by_role("heading", name="Generate")).to_be_visible()
    await artist.get_by_label("Mode", exact=True).select_option("sample")
    await artist.get_by_label("Count").fill("4")
    await artist.get_by_label("Seed", exact=True).fill("42")
    await artist.get_by_role("button", name="Generate").click()
    await expect(artist.locator("#generation[data-id]")).to_be_visible(timeout=60_000)
    sampled = await artist.locator("#generation").get_attribute("data-id")
    await expect(artist.locator("#generation-status")).to_have_text("succeeded", timeout=60_000)
    cards = artist.locator("#generation .output-card")
    await expect(cards).to_have_count(4)
    for i in range(4):
        await image_loaded(cards.nth(i).locator("img.output"))
    await expect(cards.first).to_contain_text("seed 42")

    # Another mode: a morph strip between two seeds is added above the samples, then back to them.
    await artist.get_by_label("Mode", exact=True).select_option("interpolate")
    await expect(artist.get_by_label("Seed", exact=True)).to_be_hidden()
    await artist.get_by_label("Base seed").fill("42")
    await artist.get_by_label("Target seed").fill("7")
    await artist.get_by_role("button", name="Generate").click()
    await expect(artist.locator("#generation[data-id]")).not_to_have_attribute("data-id", sampled or "")
    await expect(artist.locator("#generation-status")).to_have_text("succeeded", timeout=60_000)
    await expect(cards).to_have_count(4)
    await image_loaded(cards.last.locator("img.output"))
    await expect(artist.locator("#runs > .run")).to_have_count(2)
    await expect(artist.locator("#recent")).to_contain_text("seeds 42 → 7")
    await shots.step("interpolated", artist)
    await artist.locator("#recent .gen-tile", has_text="sample").click()
    await expect(artist.locator("#generation-status")).to_have_text("succeeded")
    await expect(artist.locator("#generation-settings")).to_contain_text("seed 42")
    await expect(cards.first).to_contain_text("seed 42")

    # Rate the first output, then publish it.
    first = cards.first
    await first.get_by_role("button", name="5 stars").click()
    await expect(first.locator(".stars")).to_have_attribute("data-score", "5")
    await first.get_by_label("title").fill("Blob dream")
    await first.get_by_role("button", name="Publish").click()
    await shots.step("generated", artist)
    await first.locator("a.published").click()
    await expect(artist.get_by_role("heading", name="Blob dream")).to_be_visible()
    await expect(artist.locator(".badge.ai")).to_have_text("AI-generated · provenance verified")
    await expect(artist.locator(".model-credit")).to_contain_text("your style model “Blobs”")
    await shots.step("ai-work", artist)

    # The follower's feed announces the new work live; it carries the verified AI label.
    await expect(fan.locator(".banner")).to_contain_text("new work", timeout=30_000)
    await fan.locator(".banner").click()
    tile = fan.locator(".tile", has_text="Blob dream")
    await expect(tile).to_be_visible()
    await expect(tile.locator(".badge.ai")).to_have_text("AI-generated · provenance verified")
    await image_loaded(tile.locator("img"))
    await shots.step("fan-feed", fan)
