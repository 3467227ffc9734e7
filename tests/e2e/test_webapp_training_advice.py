"""The training-set check on the owner's model page, in a real browser: a model over five similar
works, one very different work and a near copy of one of them; "Check the training set" names the
odd work as far from the rest and the copy pair as near copies, each linking to its works, and the
page stays axe-clean and fits a phone."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest
from PIL import ImageEnhance
from playwright.async_api import Browser, expect

from demo.art import png_bytes, render
from tests.e2e.test_training_set_advice import _work_from
from tests.e2e.test_webapp_consent_screens import axe_clean, snap
from tests.e2e.test_webapp_market_screens import fits_a_phone
from tests.support.artists import TINY, artist
from tests.support.screens import members_on_screen

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


async def test_the_owner_checks_the_training_set_and_sees_the_outlier_and_the_copies(
        browser: Browser, gateway_url: str, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    ana = await artist(http)
    similar = [await ana.work("dots", seed) for seed in range(5)]
    odd = await ana.work("geometric", 11)
    copy = await _work_from(ana, png_bytes(ImageEnhance.Brightness(render("dots", 1, 64)).enhance(1.05)), "dots 1b")
    model = await ana.call("POST", "/v1/models", 202, json={"name": "Dots", "work_ids": [*similar, odd, copy],
                                                             "steps": 1, **TINY})
    member = SimpleNamespace(token=ana.headers["Authorization"].split()[1], id=ana.user["id"],
                             username=ana.user["username"])
    async with members_on_screen(browser, gateway_url, tmp_path, {"ana": member}) as pages:  # type: ignore[dict-item]
        page = pages["ana"]
        await page.goto(f"{gateway_url}/#/models/{model['id']}")
        await page.get_by_role("button", name="Check the training set").click()
        outliers = page.locator('.advice-list[data-kind="outlier"] > li')
        await expect(outliers).to_have_count(1)
        await expect(outliers.locator("a")).to_have_attribute("href", f"#/works/{odd}")
        await expect(outliers).to_contain_text("% sure")
        pairs = page.locator('.advice-list[data-kind="near_duplicate"] > li')
        await expect(pairs).to_have_count(1)
        hrefs = sorted([str(await a.get_attribute("href")) for a in await pairs.locator("a").all()])
        assert hrefs == sorted([f"#/works/{similar[1]}", f"#/works/{copy}"]), hrefs
        await expect(page.locator("#training-advice")).to_contain_text("7 of 7 images looked at")
        await axe_clean(page, "the model page with its training-set check")
        await fits_a_phone(page, "the model page with its training-set check")
        await page.locator("#training-advice").scroll_into_view_if_needed()
        await snap(page, "training-advice")
