"""A newcomer's first session in a real browser (headless Chromium), only through the web app:
a visitor lands on Trending (no sign-in wall), searches by text and by a clickable tag, signs up
(a too-short password is refused beside its field), is offered artists to follow on the empty
feed, uploads from the keyboard-reachable drop zone, trains a tiny style model whose sample grids
carry their step, edits one work and deletes another, generates, varies one output (the runs
accumulate), opens the generation page and reuses its settings, publishes and saves to a new
board. A fan gets a friendly page for the artist's private model, likes and comments (the artist
is notified, the count moves) and reports the work; a moderator restores it from the moderation
screen; finally the artist switches training consent off in Settings.

On failure, screenshots of every browser page are written to the test's tmp directory.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from demo.art import png_bytes, render
from tests.conftest import MODERATOR
from tests.support.members import PASSWORD, Member, sign_up
from tests.support.screens import shots

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
IMAGES = 6
STEPS = 40
TRAIN_TIMEOUT_MS = 120_000
GEN_TIMEOUT_MS = 60_000
UI_TIMEOUT_MS = 20_000


async def moderator_login(http: aiohttp.ClientSession, name: str, password: str) -> dict[str, object]:
    """The moderator's session: signed up by the first test that needs it, signed in after that."""
    async with http.post("/v1/auth/signup", json={"username": name, "email": f"{name}@example.com",
                                                  "password": password}) as resp:
        if resp.status == 201:
            return await resp.json()  # type: ignore[no-any-return]
        assert resp.status == 409, await resp.text()
    async with http.post("/v1/auth/login", json={"login": name, "password": password}) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()  # type: ignore[no-any-return]


async def signed_in_page(context: BrowserContext, gateway_url: str, session: dict[str, object]) -> Page:
    """A page whose app holds `session` (as after signing in), on the feeds."""
    page = await context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    await page.goto(f"{gateway_url}/#/signin")
    await page.evaluate("""(s) => { localStorage.setItem("atelier.token", s.token);
        localStorage.setItem("atelier.user", JSON.stringify(s.user)); }""", session)
    await page.goto(f"{gateway_url}/#/feed/trending")
    await page.reload()
    return page


async def drop_images(page: Page, images: list[tuple[str, bytes]]) -> None:
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


async def test_a_newcomer_finds_trains_generates_varies_publishes_and_a_moderator_restores_a_report(
        browser: Browser, gateway_url: str, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    await newcomer_flow(browser, gateway_url, http, tmp_path, MODERATOR, PASSWORD)


async def newcomer_flow(browser: Browser, gateway_url: str, http: aiohttp.ClientSession, tmp_path: Path,
                        moderator: str, moderator_password: str) -> None:
    errors: list[str] = []
    contexts = [await browser.new_context() for _ in range(3)]
    pages: dict[str, Page] = {}
    try:
        await _flow(contexts, pages, errors, gateway_url, http, moderator, moderator_password)
        assert not errors, errors
    except BaseException as exc:
        raise AssertionError(f"{exc}\nscreenshots: {await shots(pages, tmp_path)}\nbrowser errors: {errors}") from exc
    finally:
        for context in contexts:
            await context.close()


async def _flow(contexts: list[BrowserContext], pages: dict[str, Page], errors: list[str], gateway_url: str,
                http: aiohttp.ClientSession, moderator: str, moderator_password: str) -> None:
    newcomer_ctx, fan_ctx, mod_ctx = contexts
    # Someone has already published a tagged work with a distinctive word in its title.
    word, tag = f"lumen{secrets.token_hex(3)}", f"t{secrets.token_hex(4)}"
    painter: Member = await sign_up(http, "painter_")
    await painter.publish(f"Study in {word}", tags=[tag, "ink"])
    await painter.publish("Another study", tags=[tag])

    # A visitor opening / lands on Trending, not on the sign-in form.
    page = await newcomer_ctx.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.on("pageerror", lambda exc: errors.append(f"newcomer: {exc}"))
    pages["newcomer"] = page
    await page.goto(f"{gateway_url}/")
    await expect(page.get_by_role("heading", name="Trending", exact=True)).to_be_visible()
    assert page.url.endswith("#/feed/trending"), page.url
    await expect(page.locator(".intro")).to_contain_text("Create an account")

    # Search by text from the header, then follow a clickable tag to the tag's results.
    await page.get_by_role("searchbox", name="Search works").first.fill(word)
    await page.get_by_role("searchbox", name="Search works").first.press("Enter")
    results = page.locator("#search-results .tile")
    await expect(results).to_have_count(1)
    await expect(results.first).to_contain_text(f"Study in {word}")
    await results.first.click()
    await page.get_by_role("link", name=f"#{tag}").click()
    await expect(page.get_by_role("heading", name=f"Search: #{tag}")).to_be_visible()
    await expect(page.locator("#search-results .tile")).to_have_count(2)
    # The origin filter narrows it: no AI work carries this tag.
    await page.locator("#filter-origin").select_option("ai")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("#result-count")).to_have_text("0 works found")

    # Sign up: nine characters are refused beside the password field, which says ten are needed.
    username = f"new_{secrets.token_hex(4)}"
    await page.get_by_role("link", name="Sign up").first.click()
    form = page.locator("#signup-form")
    await expect(form.locator("#password-hint")).to_have_text("At least 10 characters")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Email").fill(f"{username}@example.com")
    await page.get_by_label("Password").fill("ninechars")
    await page.get_by_role("button", name="Sign up").click()
    field_error = form.locator("#signup-form-password-error")
    await expect(field_error).to_contain_text("10")
    await expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    described = await page.get_by_label("Password").get_attribute("aria-describedby") or ""
    assert "signup-form-password-error" in described, described
    # It sits right after the password's own label, not in one line at the bottom of the form.
    assert await form.evaluate("(f) => f.querySelector('#signup-form-password-error').previousElementSibling"
                               ".querySelector('input').name") == "password"
    await expect(form.locator(".form-error")).to_contain_text("Please correct the field marked below")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    await expect(page.get_by_role("heading", name="Following")).to_be_visible()
    await expect(page.locator("#live-status")).to_have_text("● live")

    # The empty Following feed suggests artists and shows what is trending.
    await expect(page.locator(".empty-feed")).to_be_visible()
    suggested = page.locator("#suggested-artists li")
    await expect(suggested.first).to_be_visible()
    await expect(page.locator("#trending-fallback .tile").first).to_be_visible()
    await suggested.first.get_by_role("button", name=re.compile("^Follow @")).click()
    await expect(suggested.first.get_by_role("button")).to_have_text("✓ Following")

    # Upload: the drop zone's button opens the file picker from the keyboard.
    await page.get_by_role("link", name="Upload").click()
    await page.locator("#file-input").evaluate("""(input) => { window.__picker = 0;
        input.addEventListener("click", (e) => { e.preventDefault(); window.__picker += 1; }); }""")
    await page.locator("#choose-files").focus()
    await page.keyboard.press("Enter")
    await page.keyboard.press(" ")
    assert await page.evaluate("window.__picker") == 2, "Enter and Space on the drop zone's button open the picker"
    assert await page.locator("#file-input").get_attribute("multiple") is not None
    # Seeds no other test publishes (as human work, a near duplicate of another artist's would be refused).
    images = [(f"blobs-{seed}.png", png_bytes(render("blobs", seed, 64))) for seed in range(200, 200 + IMAGES)]
    await drop_images(page, images)
    await expect(page.locator("#upload-status")).to_have_text(f"{IMAGES} images uploaded")
    await page.get_by_label("Title").fill("Blob study")
    await page.get_by_label("Tags (comma separated)").fill("blobs")
    await page.get_by_label("Allow style models to be trained on this work").check()
    await page.get_by_label("Publish each image as its own work").check()
    await page.get_by_role("button", name="Publish").click()
    await expect(page.get_by_role("heading", name=username)).to_be_visible()
    await expect(page.locator(".grid .tile")).to_have_count(IMAGES)

    # Train a tiny model: its live sample grids are labelled with their step; the quality reads in words.
    await page.goto(f"{gateway_url}/#/models/new")
    await page.get_by_role("button", name="Allow training on my works").click()
    await page.locator("#select-all").click()
    await page.get_by_label("Name").fill("Blobs")
    await page.get_by_label("Architecture").select_option("vae")
    await page.get_by_label("Image size").select_option("32")
    await page.get_by_label("Steps").fill(str(STEPS))
    await page.get_by_label("Batch size").fill("16")
    await page.get_by_label("Model width").select_option("16")
    await page.get_by_role("button", name="Start training").click()
    await expect(page.locator("#model-status")).to_have_text("succeeded", timeout=TRAIN_TIMEOUT_MS)
    captions = page.locator("#samples figcaption")
    await expect(captions.first).to_be_visible()
    texts = await captions.all_inner_texts()
    assert any(re.fullmatch(rf"v1 · step \d+ of {STEPS}", t) for t in texts), texts
    assert any(t == f"v1 · final, step {STEPS}" for t in texts), texts
    quality = page.locator("#versions .quality-figure").first
    readable = re.compile(r"^(\d+% closer to your works than before training|not yet closer .*)$")
    await expect(quality).to_have_text(readable)
    assert "SWD" in (await quality.get_attribute("title") or "")
    # After a reload, this browser still knows which step each grid came from.
    await page.reload()
    await expect(page.locator("#samples figcaption")).to_have_text(texts)  # waits for the page to render

    model_url = page.url

    await page.goto(model_url)

    # Generate four samples, then "vary this" on the first: a second run is added above the first.
    await page.get_by_role("link", name="Generate with v1").click()
    await page.get_by_label("Mode", exact=True).select_option("sample")
    await page.get_by_label("Count").fill("4")
    await page.get_by_label("Seed", exact=True).fill("42")
    await page.get_by_role("button", name="Generate", exact=True).click()
    await expect(page.locator("#generation-status")).to_have_text("succeeded", timeout=GEN_TIMEOUT_MS)
    first_run = await page.locator("#generation").get_attribute("data-id")
    await expect(page.locator("#generation .output-card")).to_have_count(4)
    await page.get_by_role("button", name="Vary this: output 0, seed 42").click()
    await expect(page.locator("#generation")).not_to_have_attribute("data-id", first_run or "")
    await expect(page.locator("#generation-status")).to_have_text("succeeded", timeout=GEN_TIMEOUT_MS)
    await expect(page.locator("#runs > .run")).to_have_count(2)
    assert await page.locator("#runs > .run").last.get_attribute("data-id") == first_run
    await expect(page.locator("#generation .output-card").first).to_contain_text("variation 1 of seed 42")

    # From the first run's second output: download its signed file, morph it into seed 42, reuse its seed.
    sampled = page.locator("#runs > .run").last.locator(".output-card").nth(1)
    async with page.expect_download() as download:
        await sampled.get_by_role("button", name="Download output 1 (signed PNG)").click()
    signed = await asyncio.to_thread(Path(await (await download.value).path()).read_bytes)
    async with http.post("/v1/provenance/verify", data=signed, headers={"Content-Type": "image/png"}) as resp:
        assert resp.status == 200 and (await resp.json())["state"] == "valid", await resp.text()
    await sampled.get_by_label("Interpolate output 1 to").select_option("42")
    await sampled.get_by_role("button", name="Interpolate to").click()
    await expect(page.locator("#runs > .run")).to_have_count(3)
    await expect(page.locator("#generation-status")).to_have_text("succeeded", timeout=GEN_TIMEOUT_MS)
    await expect(page.locator("#generation .output-card").first).to_contain_text("step 1 of 8")
    await expect(page.locator("#recent")).to_contain_text("seeds 43 → 42")
    await page.locator("#runs > .run").last.get_by_role("button", name="Use this seed: 43").click()
    await expect(page.get_by_label("Mode", exact=True)).to_have_value("sample")
    await expect(page.get_by_label("Seed", exact=True)).to_have_value("43")
    await expect(page.get_by_label("Seed", exact=True)).to_be_focused()
    await page.locator("#runs > .run").nth(1).locator("h2 a").click()

    # The generation's page says what made it; "reuse settings" puts them back into the form.
    await page.locator("#generation h2 a").click()
    settings = page.locator("#generation-settings")
    await expect(settings).to_contain_text("Blobs")
    await expect(settings).to_contain_text("variations")
    await expect(settings).to_contain_text("around seed 42")
    await page.locator("#reuse-settings").click()
    await expect(page.get_by_label("Mode", exact=True)).to_have_value("variations")
    await expect(page.get_by_label("Base seed")).to_have_value("42")
    await expect(page.get_by_label("Count")).to_have_value("4")

    # Publish one output of the variations run from the gallery.
    await page.goto(f"{gateway_url}/#/generations")
    await page.locator(".gen-tile", has_text="variations").first.click()
    card = page.locator(".output-card").first
    await expect(card.locator("img.output")).to_have_attribute("src", re.compile("^blob:"))
    title = f"Varied blob {secrets.token_hex(2)}"
    await card.get_by_label("title for output 0").fill(title)
    await card.get_by_role("button", name="Publish").click()
    await card.locator("a.published").click()
    await expect(page.get_by_role("heading", name=title)).to_be_visible()
    badge = page.locator(".badge.ai")
    await expect(badge).to_have_text("AI-generated · provenance verified")
    tooltip = await badge.get_attribute("title") or ""
    assert re.fullmatch(r"generation \w+ · model \w+ v1 · mode variations · image #0", tooltip), tooltip
    work_url = page.url

    # Save it to a new board; the board lists it.
    await page.get_by_label("Board", exact=True).select_option(value="")
    await page.get_by_label("New board name").fill("Keepers")
    await page.locator("#save-to-board").click()
    await page.get_by_role("link", name="Boards").click()
    await page.get_by_role("link", name="Keepers").click()
    await expect(page.locator("#board-works .tile", has_text=title)).to_be_visible()
    await page.goto(work_url)

    # A fan likes and comments: the artist is notified; the comment count moves at once.
    fan: Member = await sign_up(http, "fan_")
    fan_session = {"token": fan.token, "user": {"id": fan.id, "username": fan.username}}
    fan_page = await signed_in_page(fan_ctx, gateway_url, fan_session)
    fan_page.on("pageerror", lambda exc: errors.append(f"fan: {exc}"))
    pages["fan"] = fan_page
    await fan_page.goto(work_url)
    await expect(fan_page.locator("#comment-count")).to_have_text("0 comments")
    await fan_page.locator("#like").click()
    await expect(fan_page.locator("#like")).to_contain_text("♥ Liked · 1")
    await fan_page.get_by_label("Your comment").fill("Lovely texture")
    await fan_page.get_by_role("button", name="Comment").click()
    await expect(fan_page.locator("#comment-count")).to_have_text("1 comment")
    await expect(page.locator("#notify-bell")).to_have_attribute("aria-label", re.compile(r"Notifications, \d+ unread"),
                                                                  timeout=UI_TIMEOUT_MS)
    await page.locator("#notify-bell").click()
    await expect(page.locator("#notifications")).to_contain_text(f"commented on “{title}”: “Lovely texture”")
    await expect(page.locator("#notifications")).to_contain_text(f"Your work “{title}” got a like")

    # The artist's style model is private: the fan gets a friendly page, not a raw 404.
    await fan_page.goto(model_url)
    await expect(fan_page.get_by_role("heading", name="This style model is private")).to_be_visible()
    await fan_page.goto(work_url)

    # The fan reports it; the moderator finds it in the queue and restores it.
    await fan_page.locator("#report").click()
    await fan_page.get_by_label("Reason").select_option("spam")
    await fan_page.get_by_label("Details (optional)").fill("looks like an ad")
    await fan_page.get_by_role("button", name="Send report").click()
    await expect(fan_page.locator("#report-sent")).to_be_visible()
    mod_page = await signed_in_page(mod_ctx, gateway_url, await moderator_login(http, moderator, moderator_password))
    mod_page.on("pageerror", lambda exc: errors.append(f"moderator: {exc}"))
    pages["moderator"] = mod_page
    await mod_page.get_by_role("link", name="Moderation").click()
    entry = mod_page.locator(".mod-item", has_text=title)
    await expect(entry).to_contain_text("spam")
    await expect(entry).to_contain_text(f"@{fan.username}: looks like an ad")
    await entry.get_by_role("button", name="Restore").click()
    await expect(entry).to_have_count(0)
    work_id = work_url.rsplit("/", 1)[-1]
    async with http.get(f"/v1/works/{work_id}") as resp:
        assert resp.status == 200 and not (await resp.json())["hidden"]

    # Edit one of the works, delete another (asked once more, inline). The deleted work trained the
    # model, so this comes after generating from it: deleting it withdraws its consent (issue 14).
    await page.goto(f"{gateway_url}/#/users/{username}")
    await page.locator(".tile", has_text="Blob study 1").first.click()
    await page.locator("#edit-work").click()
    await page.get_by_label("Title").fill("Blob study, first")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("heading", name="Blob study, first")).to_be_visible()
    await page.goto(f"{gateway_url}/#/users/{username}")
    await expect(page.locator(".tile", has_text="Blob study 2").first).to_be_visible()
    tiles_before = await page.locator(".grid .tile").count()
    await page.locator(".tile", has_text="Blob study 2").first.click()
    await page.locator("#delete-work").click()
    await page.locator("#delete-work-confirm").click()
    await expect(page.get_by_role("heading", name=username)).to_be_visible()
    await expect(page.locator(".grid .tile")).to_have_count(tiles_before - 1)

    # A long training, canceled: it says where it stopped and promises no time left.
    await page.goto(f"{gateway_url}/#/models/new")
    await page.locator("#select-all").click()
    await page.get_by_label("Name").fill("Long one")
    await page.get_by_label("Architecture").select_option("vae")
    await page.get_by_label("Image size").select_option("32")
    await page.get_by_label("Steps").fill("20000")
    await page.get_by_label("Model width").select_option("16")
    await page.get_by_role("button", name="Start training").click()
    await expect(page.locator("#train-info")).to_contain_text("s left", timeout=TRAIN_TIMEOUT_MS)
    await page.locator("#cancel").click()
    await expect(page.locator("#model-status")).to_have_text("canceled", timeout=UI_TIMEOUT_MS)
    await expect(page.locator("#train-info")).to_contain_text("canceled at step")
    await expect(page.locator("#train-info")).not_to_contain_text("left")

    # Settings: switch training consent off; the training page then says it is off.
    await page.get_by_role("link", name="Settings").click()
    consent = page.get_by_label("Allow style models to be trained on the works I mark as trainable")
    await expect(consent).to_be_checked()
    await consent.uncheck()
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#settings-status")).to_contain_text("Training on your works is off")
    await page.goto(f"{gateway_url}/#/models/new")
    await expect(page.locator("#consent .notice")).to_contain_text("does not allow")
