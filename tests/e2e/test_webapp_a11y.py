"""Accessibility of every page of the web app, signed out and signed in, in Debian's Chromium:
axe-core (npm, pinned, installed under .tools/ by deploy/local/install-tools.sh) finds no
violation of impact "serious" or "critical" on any of them, at desktop width and at 390 px; at
390 px no page scrolls sideways and the header takes at most a quarter of the screen; and no page
shows a missing value as the word "null", "undefined" or "NaN".

The pages hold real content made through the API first: an artist's works, a board, a comment, a
tiny trained style model (made public, so a fan sees its public page), a generation and its published
AI work, a report in the moderation queue; the market pages (credits, licences, possible copies, webhooks).
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import MODERATOR
from tests.support.members import PASSWORD, Member, sign_up

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]
AXE = Path(__file__).resolve().parents[2] / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
SIZES = {"desktop": (1280, 860), "phone": (390, 844)}
TINY_MODEL = {"name": "Tiny", "architecture": "vae", "image_size": 32, "steps": 20, "width": 16, "batch_size": 8}
WAIT_S = 120.0


async def _until(check: Any, what: str, timeout_s: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


async def content(http: aiohttp.ClientSession) -> dict[str, Any]:
    """Everything the pages show, made through the public API."""
    artist: Member = await sign_up(http, "a11y_")
    fan: Member = await sign_up(http, "a11yfan_")
    await artist.call("PATCH", "/v1/me", 200, json={"allow_training": True, "bio": "Ink and blobs."})
    works = [await artist.publish(f"Study {i}", tags=["ink", "a11y"], allow_training=True) for i in range(3)]
    await fan.call("POST", f"/v1/works/{works[0]['id']}/comments", 201, json={"body": "Lovely"})
    await fan.call("PUT", f"/v1/works/{works[0]['id']}/like", 204)
    await fan.call("PUT", f"/v1/users/{artist.username}/follow", 204)
    ids = [w["id"] for w in works]
    board = await artist.call("POST", "/v1/collections", 201, json={"title": "Ink board", "work_ids": ids})
    model = await artist.call("POST", "/v1/models", 202, json={**TINY_MODEL, "work_ids": [w["id"] for w in works]})

    async def trained() -> bool:
        got = await artist.call("GET", f"/v1/models/{model['id']}", 200)
        assert got["status"] not in ("failed", "canceled"), got
        return got["status"] == "succeeded"
    await _until(trained, "the tiny model to train")
    await artist.call("PATCH", f"/v1/models/{model['id']}", 200, json={"visibility": "public", "licence": "cc-by-4.0"})

    async def created() -> dict[str, Any] | None:
        async with http.post("/v1/generations", headers=artist.headers,
                             json={"model_id": model["id"], "mode": "sample", "count": 2, "seed": 5}) as resp:
            if resp.status == 409:  # the new version is still being loaded for generation
                return None
            assert resp.status == 202, await resp.text()
            return await resp.json()  # type: ignore[no-any-return]
    gen = await _until(created, "the model to be ready for generation")

    async def generated() -> bool:
        got = await artist.call("GET", f"/v1/generations/{gen['id']}", 200)
        assert got["status"] != "failed", got
        return got["status"] == "succeeded"
    await _until(generated, "the generation")
    ai_work = await artist.call("POST", f"/v1/generations/{gen['id']}/outputs/0/publish", 201,
                                json={"title": "Tiny dream"})
    await fan.call("POST", f"/v1/works/{works[1]['id']}/reports", 202, json={"reason": "spam"})
    # Long words without a space (a title, a report's details) must wrap, never widen a phone's page:
    # the full suite's fuzzing leaves such works in the moderation queue.
    unbroken = await artist.publish("Unbroken" + "ink" * 40, tags=["ink"])
    await fan.call("POST", f"/v1/works/{unbroken['id']}/reports", 202, json={"reason": "other", "details": "see" * 60})
    return {"artist": artist, "fan": fan, "works": works, "board": board, "model": model, "gen": gen, "ai": ai_work}


def signed_out_pages(c: dict[str, Any]) -> list[str]:
    w = c["works"][0]["id"]
    return ["", "#/feed/trending", "#/feed/for-you", "#/search?q=study", "#/search?tag=a11y&origin=human&sort=top",
            f"#/works/{w}", f"#/works/{c['ai']['id']}", f"#/users/{c['artist'].username}",
            f"#/boards/{c['board']['id']}", "#/signin", "#/signup", "#/works/01NOSUCHWORK0000000000000",
            "#/no-such-page"]


def signed_in_pages(c: dict[str, Any]) -> list[str]:
    w = c["works"][0]["id"]
    return ["#/feed/following", "#/feed/trending", "#/feed/for-you", "#/search?q=study", f"#/works/{w}",
            f"#/works/{w}/edit", f"#/works/{c['ai']['id']}", "#/upload", "#/models", "#/models/new",
            f"#/models/{c['model']['id']}", "#/models/01NOTYOURS0000000000000000", "#/generate",
            f"#/generate/{c['model']['id']}", "#/generations", f"#/generations/{c['gen']['id']}", "#/insights",
            "#/boards", f"#/boards/{c['board']['id']}", "#/settings", "#/notifications", "#/models/public",
            "#/training-uses", "#/credits", "#/licences", "#/copies", "#/webhooks",
            "#/webhooks/01NOSUCHHOOK00000000000000",
            f"#/users/{c['artist'].username}", "#/moderation"]


async def settle(page: Page) -> None:
    """The view has rendered: no "Loading…" placeholder left, images and badges had a moment."""
    await expect(page.locator("#view > p.muted", has_text="Loading…")).to_have_count(0, timeout=15_000)
    await page.wait_for_timeout(250)


async def audit(page: Page, where: str, problems: list[str], phone: bool) -> None:
    await settle(page)
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.add_script_tag(path=str(AXE))
    violations = await page.evaluate("""() => axe.run(document, { resultTypes: ["violations"] }).then((r) =>
        r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                                   nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) })))""")
    for v in violations:
        if v["impact"] in BLOCKING:
            problems.append(f"{where}: {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}")
    # A missing value never shows as a word (a bio-less profile once read "null" twice).
    shown = await page.locator("body").inner_text()
    if leaked := re.findall(r"\b(?:null|undefined|NaN)\b", shown):
        problems.append(f"{where}: the page shows {sorted(set(leaked))}")
    if phone:
        box = await page.evaluate("""() => ({ scroll: document.documentElement.scrollWidth, width: innerWidth,
            header: document.querySelector("header").getBoundingClientRect().height, height: innerHeight })""")
        if box["scroll"] > box["width"] + 1:
            problems.append(f"{where}: scrolls sideways at {box['width']} px ({box['scroll']} px wide)")
        if box["header"] > box["height"] / 4:
            problems.append(f"{where}: the header takes {box['header']:.0f} of {box['height']} px")


async def visit(browser: Browser, gateway_url: str, session: dict[str, Any] | None, pages: list[str],
                problems: list[str], errors: list[str], who: str, report_on: str | None = None) -> None:
    for size, (width, height) in SIZES.items():
        context = await browser.new_context(viewport={"width": width, "height": height})
        try:
            page = await context.new_page()
            page.on("pageerror", lambda exc: errors.append(f"{who}: {exc}"))
            await page.goto(f"{gateway_url}/#/signin")
            if session:
                await page.evaluate("""(s) => { localStorage.setItem("atelier.token", s.token);
                    localStorage.setItem("atelier.user", JSON.stringify(s.user)); }""", session)
                await page.reload()  # the app starts signed in: live events, the moderator's menu
            for hash_ in pages:
                await page.goto(f"{gateway_url}/{hash_}")
                await audit(page, f"{who} {size} {hash_ or '/'}", problems, size == "phone")
            if not session:
                # The sign-up form with its field errors shown.
                await page.goto(f"{gateway_url}/#/signup")
                await page.get_by_label("Username").fill("x")
                await page.get_by_label("Password").fill("short")
                await page.get_by_role("button", name="Sign up").click()
                await expect(page.locator(".field-error").first).to_be_visible()
                await audit(page, f"{who} {size} sign-up errors", problems, size == "phone")
            elif report_on:
                # Someone else's work with the report form open.
                await page.goto(f"{gateway_url}/#/works/{report_on}")
                await page.locator("#report").click()
                await expect(page.locator("#report-form")).to_be_visible()
                await audit(page, f"{who} {size} report form", problems, size == "phone")
        finally:
            await context.close()


async def test_every_page_has_no_serious_accessibility_violation_signed_out_and_in(
        browser: Browser, gateway_url: str, http: aiohttp.ClientSession) -> None:
    async with http.post("/v1/auth/signup", json={"username": MODERATOR, "email": f"{MODERATOR}@example.com",
                                                  "password": PASSWORD}) as resp:
        assert resp.status in (201, 409), await resp.text()
    async with http.post("/v1/auth/login", json={"login": MODERATOR, "password": PASSWORD}) as resp:
        assert resp.status == 200, await resp.text()
        moderator = await resp.json()
    await audit_everything(browser, gateway_url, http, moderator)


async def audit_everything(browser: Browser, gateway_url: str, http: aiohttp.ClientSession,
                           moderator: dict[str, Any]) -> None:
    assert AXE.is_file(), f"axe-core is missing at {AXE}: run `bash deploy/local/install-tools.sh`"
    c = await content(http)
    fan: Member = c["fan"]
    artist: Member = c["artist"]
    problems: list[str] = []
    errors: list[str] = []
    session = {"token": artist.token, "user": {"id": artist.id, "username": artist.username}}
    await visit(browser, gateway_url, None, signed_out_pages(c), problems, errors, "visitor")
    await visit(browser, gateway_url, session, signed_in_pages(c), problems, errors, "artist")
    fan_session = {"token": fan.token, "user": {"id": fan.id, "username": fan.username}}
    await visit(browser, gateway_url, fan_session, [f"#/boards/{c['board']['id']}", "#/feed/following",
                                                    "#/notifications", "#/settings", "#/models/public",
                                                    f"#/models/{c['model']['id']}", "#/training-uses",
                                                    "#/credits", "#/licences"],
                problems, errors, "fan", report_on=c["works"][0]["id"])
    await visit(browser, gateway_url, moderator, ["#/moderation", "#/feed/following", "#/notifications"],
                problems, errors, "moderator")
    assert not problems, "\n".join(problems)
    assert not errors, errors
