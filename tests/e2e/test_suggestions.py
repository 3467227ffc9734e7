"""`GET /v1/me/suggestions` through the gateway, on seeded works and likes whose truth is known."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.members import PASSWORD, Member, sign_up


async def _members(http: aiohttp.ClientSession, n: int) -> list[Member]:
    return list(await asyncio.gather(*(sign_up(http, "sg_") for _ in range(n))))


async def _publish(artist: Member, tag: str, n: int) -> list[str]:
    works = await asyncio.gather(*(artist.publish(f"{tag} {i}", tags=[tag]) for i in range(n)))
    return [w["id"] for w in works]


async def _like(fans: list[Member], work_id: str) -> None:
    await asyncio.gather(*(fan.call("PUT", f"/v1/works/{work_id}/like", 204) for fan in fans))


async def _suggestions(member: Member, **params: str) -> list[dict[str, Any]]:
    answer = await member.call("GET", "/v1/me/suggestions", 200, params=params)
    assert answer["method"]
    return answer["items"]  # type: ignore[no-any-return]


async def test_a_planted_threefold_effect_names_the_tag_with_its_evidence(http: aiohttp.ClientSession) -> None:
    artist, *fans = await _members(http, 7)
    neon, plain = await _publish(artist, "neon", 5), await _publish(artist, "plain", 5)
    for work_id in neon:  # six likes each
        await _like(fans, work_id)
    for i, work_id in enumerate(plain):  # two likes each: a third of the rate, at equal exposure
        await _like([fans[i % 6], fans[(i + 1) % 6]], work_id)
    await artist.call("PUT", f"/v1/works/{plain[0]}/like", 204)  # one's own like is no evidence
    items = await _suggestions(artist, kind="resonates")
    assert [(s["kind"], s["subject_type"], s["subject"]) for s in items] == [("resonates", "tag", "neon")]
    found = items[0]
    ev = found["evidence"]
    assert (ev["works"], ev["likes"], ev["baseline_works"], ev["baseline_likes"]) == (5, 30, 5, 10)
    assert abs(ev["rate_ratio"] - 3.0) < 0.05
    assert 0.95 < found["confidence"] <= ev["probability_higher"] <= 1
    assert "#neon" in found["explanation"] and "3.0x" in found["explanation"]
    # a fan sees nothing of the artist's: only `me` exists, and fans have no works of their own
    assert await _suggestions(fans[0], kind="resonates") == []


async def test_no_planted_effect_yields_no_resonates(http: aiohttp.ClientSession) -> None:
    artist, *fans = await _members(http, 5)
    works = await _publish(artist, "dawn", 5) + await _publish(artist, "dusk", 5)
    for i, work_id in enumerate(works):  # three likes on every work
        await _like([fans[i % 4], fans[(i + 1) % 4], fans[(i + 2) % 4]], work_id)
    assert [s for s in await _suggestions(artist) if s["kind"] == "resonates"] == []


async def test_artists_with_overlapping_audiences_are_suggested_to_each_other(http: aiohttp.ClientSession) -> None:
    ada, bea, cy, dan, *people = await _members(http, 10)
    fans, strangers = people[:4], people[4:]
    works = {m.username: (await _publish(m, "ink", 1))[0] for m in (ada, bea, cy, dan)}
    for artist in (ada, bea, cy):
        await _like(fans, works[artist.username])
    await _like(strangers, works[dan.username])  # dan's audience shares nobody with ada's
    await ada.call("PUT", f"/v1/users/{cy.username}/follow", 204)

    def follows(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {s["subject"]: s for s in items if s["kind"] == "follow"}

    for_ada = follows(await _suggestions(ada, kind="follow"))
    assert set(for_ada) == {bea.username}  # cy is already followed; dan shares no fans; never oneself
    ev = for_ada[bea.username]["evidence"]
    assert (ev["shared_fans"], ev["your_fans"], ev["their_fans"], ev["jaccard"]) == (4, 4, 4, 1.0)
    assert 0.9 <= for_ada[bea.username]["confidence"] <= 1
    assert set(follows(await _suggestions(bea))) == {ada.username, cy.username}
    assert ada.username in follows(await _suggestions(cy, kind="follow"))
    assert follows(await _suggestions(dan)) == {}


async def test_bad_queries_are_refused(http: aiohttp.ClientSession) -> None:
    [ada] = await _members(http, 1)
    for params in ({"user": "someone"}, {"kind": "bandit"}, {"limit": "5"}):
        async with http.get("/v1/me/suggestions", params=params, headers=ada.headers) as resp:
            assert resp.status == 422, (params, await resp.text())
            assert resp.content_type == "application/problem+json"
    async with http.get("/v1/me/suggestions") as resp:
        assert resp.status == 401 and resp.content_type == "application/problem+json"


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_the_insights_screen_shows_suggestions(browser: Browser, gateway_url: str,
                                                     http: aiohttp.ClientSession) -> None:
    ada, bea, *fans = await _members(http, 5)
    for artist in (ada, bea):
        await _like(fans, (await _publish(artist, "ink", 1))[0])
    errors: list[str] = []
    page: Page = await browser.new_page()
    page.set_default_timeout(20_000)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        await page.goto(f"{gateway_url}/#/signin")
        await page.get_by_label("Username or email").fill(ada.username)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#session .me")).to_have_text(f"@{ada.username}")
        await page.goto(f"{gateway_url}/#/insights")
        await expect(page.get_by_role("heading", name="Suggestions")).to_be_visible()
        item = page.locator("#suggestions li", has_text=f"Follow @{bea.username}")
        await expect(item).to_contain_text("3 people who like your works also like")
        await expect(item).to_contain_text("confidence")
        await item.get_by_role("link", name=f"@{bea.username}").click()
        await expect(page).to_have_url(f"{gateway_url}/#/users/{bea.username}")
    finally:
        await page.close()
    assert errors == []
