"""The web app in a real browser (Chromium, headless): sign up, see the empty feed, sign out, sign
in again; and the API reference page renders the OpenAPI document."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from playwright.async_api import Browser, expect

pytestmark = pytest.mark.slow
async def test_sign_up_then_sign_in_and_see_the_empty_feed(browser: Browser, gateway_url: str) -> None:
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    username = f"web_{secrets.token_hex(4)}"
    password = "correct horse battery"

    await page.goto(f"{gateway_url}/#/signup")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Email").fill(f"{username}@example.com")
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign up").click()

    await expect(page.get_by_role("heading", name="Following")).to_be_visible(timeout=15_000)
    await expect(page.locator(".empty-feed")).to_contain_text("Follow artists")
    await expect(page.locator("#session")).to_contain_text(f"@{username}")
    await expect(page.locator("#live-status")).to_have_text("● live", timeout=15_000)

    await page.locator("#signout").click()
    await expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()
    await page.get_by_label("Username or email").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator(".empty-feed")).to_be_visible(timeout=15_000)

    await page.goto(f"{gateway_url}/#/signin")
    await page.get_by_label("Username or email").fill(username)
    await page.get_by_label("Password").fill("wrong password!")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator(".form-error .error")).to_be_visible()
    assert not errors, errors


async def test_api_reference_page_renders_every_operation(browser: Browser, gateway_url: str, platform: Any) -> None:
    page = await browser.new_page()
    await page.goto(f"{gateway_url}/docs")
    await expect(page.locator("details.op").first).to_be_visible(timeout=15_000)
    await expect(page.locator("#main")).to_contain_text("/v1/events")
    events = page.locator("details#get-v1-events")
    await events.locator("summary").click()
    await expect(events).to_contain_text("4008")
    await expect(events).to_contain_text("token")
    count = await page.locator("details.op").count()
    assert count >= 10
