"""`community.suggestion.created` end to end: a planted effect becomes credible as likes land, the
artist's WebSocket `me` channel is told once, and nobody else is told."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.test_gateway_live import next_event, subscribe
from tests.e2e.test_suggestions import _like, _members, _publish, _suggestions
from tests.support.members import PASSWORD

CREATED = "atelier.community.suggestion.created"


async def _drain(ws: Any, seconds: float) -> list[dict[str, Any]]:
    """Every event frame that arrives on `ws` within `seconds`."""
    found, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = await ws.receive(timeout=left)
        except TimeoutError:
            break
        doc = json.loads(msg.data)
        if "specversion" in doc:
            found.append(doc)
    return found


async def test_a_credible_effect_is_announced_once_to_its_artist_only(http: aiohttp.ClientSession) -> None:
    artist, *fans = await _members(http, 8)
    fans, late_fan = fans[:6], fans[6]
    neon, plain = await _publish(artist, "neon", 5), await _publish(artist, "plain", 5)
    ws_artist = await subscribe(http, artist, ["me"])
    ws_other = await subscribe(http, fans[0], ["me", "feed", "public"])
    for i, work_id in enumerate(plain):  # two likes each
        await _like([fans[i % 6], fans[(i + 1) % 6]], work_id)
    assert await _suggestions(artist, kind="resonates") == []  # nothing credible yet
    for work_id in neon:  # six likes each: three times the rate at equal exposure
        await _like(fans, work_id)

    event = await next_event(ws_artist, lambda d: d["type"] == CREATED, timeout_s=30)
    data = event["data"]
    assert event["channel"] == "me"
    assert (data["user_id"], data["kind"], data["subject_type"], data["about"]) == \
        (artist.id, "resonates", "tag", "neon")
    [listed] = await _suggestions(artist, kind="resonates")
    assert data["title"] == listed["title"] and 0.95 < data["confidence"] <= 1

    # more likes keep the effect credible: it is not announced again
    await _like([late_fan], neon[0])
    await _like([late_fan], plain[0])
    await next_event(ws_artist, lambda d: d["type"] == "atelier.community.work.liked"
                     and d["data"]["work_id"] == plain[0])
    again = [e for e in await _drain(ws_artist, 4) if e["type"] == CREATED]
    assert again == []
    # a fan's socket, on every channel, never carries the artist's suggestion
    assert [e for e in await _drain(ws_other, 0.5) if e["type"] == CREATED] == []
    await asyncio.gather(ws_artist.close(), ws_other.close())


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_the_web_app_notifies_the_artist_of_a_new_suggestion(browser: Browser, gateway_url: str,
                                                                  http: aiohttp.ClientSession) -> None:
    artist, *fans = await _members(http, 7)
    neon, plain = await _publish(artist, "neon", 5), await _publish(artist, "plain", 5)
    errors: list[str] = []
    page: Page = await browser.new_page()
    page.set_default_timeout(30_000)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        await page.goto(f"{gateway_url}/#/signin")
        await page.get_by_label("Username or email").fill(artist.username)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#session .me")).to_have_text(f"@{artist.username}")
        for i, work_id in enumerate(plain):
            await _like([fans[i % 6], fans[(i + 1) % 6]], work_id)
        for work_id in neon:
            await _like(fans, work_id)
        await page.locator("#notify-bell").click()
        note = page.locator("#notifications a", has_text="New suggestion: More #neon")
        await expect(note).to_be_visible()
        await note.click()
        await expect(page).to_have_url(f"{gateway_url}/#/insights")
    finally:
        await page.close()
    assert errors == []
