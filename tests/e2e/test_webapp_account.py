"""The account's end in a real browser (Debian Chromium), only through the web app: in Settings a
member changes the password (a wrong current one is refused beside its field; the new one signs in,
the old one no longer does, this browser stays signed in), downloads their data (a zip with their
profile and works), and deletes the account: the password, then a second confirmation; "Keep my
account" backs out, a wrong password is refused beside its field, and after deleting the app is
signed out and the account can no longer sign in.
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.test_webapp_consent_screens import axe_clean, snap
from tests.support.members import PASSWORD, Member, sign_up

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
NEW_PASSWORD = "a much longer secret 42"


async def login_status(http: aiohttp.ClientSession, login: str, password: str) -> int:
    async with http.post("/v1/auth/login", json={"login": login, "password": password},
                         headers={"X-Forwarded-For": "198.51.100.77"}) as resp:
        return resp.status


async def test_change_password_export_and_delete_the_account_from_settings(
        browser: Browser, gateway_url: str, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    member: Member = await sign_up(http, "leaver_")
    work = await member.publish("Goodbye study", tags=["farewell"])
    errors: list[str] = []
    context = await browser.new_context(accept_downloads=True)
    page: Page = await context.new_page()
    page.set_default_timeout(20_000)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        await page.goto(f"{gateway_url}/#/signin")
        await page.get_by_label("Username or email").fill(member.username)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("link", name="Settings").click()

        # Change the password: a wrong current one is refused beside its field.
        form = page.locator("#password-form")
        await form.get_by_label("Current password").fill("not my password at all")
        await form.get_by_label("New password").fill(NEW_PASSWORD)
        await form.get_by_role("button", name="Change password").click()
        await expect(form.locator("#password-form-current-error")).to_contain_text("not your current password")
        await expect(form.get_by_label("Current password")).to_have_attribute("aria-invalid", "true")
        # A too-short new one: beside the new password.
        await form.get_by_label("Current password").fill(PASSWORD)
        await form.get_by_label("New password").fill("short")
        await form.get_by_role("button", name="Change password").click()
        await expect(form.locator("#password-form-new-error")).to_be_visible()
        await form.get_by_label("New password").fill(NEW_PASSWORD)
        await form.get_by_role("button", name="Change password").click()
        await expect(page.locator("#password-status")).to_contain_text("Password changed")
        assert await login_status(http, member.username, PASSWORD) == 401
        assert await login_status(http, member.username, NEW_PASSWORD) == 200
        # This browser is still signed in: the old token was replaced by the new one.
        async with http.get("/v1/me", headers=member.headers) as resp:
            assert resp.status == 401  # the token issued before the change is revoked
        await page.reload()
        await expect(page.locator("#session .me")).to_have_text(f"@{member.username}")
        await expect(page.get_by_role("heading", name="Settings")).to_be_visible()

        # Download my data: a zip holding the profile and the work.
        async with page.expect_download() as download:
            await page.get_by_role("button", name="Download my data").click()
        archive_path = await (await download.value).path()
        data = await asyncio.to_thread(Path(archive_path).read_bytes)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            assert {"profile.json", "works.json"} <= names, names
            assert json.loads(archive.read("profile.json"))["username"] == member.username
            assert [w["id"] for w in json.loads(archive.read("works.json"))] == [work["id"]]
            assert any(n.startswith("assets/") for n in names), names
        assert (await download.value).suggested_filename.startswith(f"atelier-export-{member.username}-")
        await expect(page.locator("#export-status")).to_contain_text("Downloaded atelier-export-")

        # Delete: the password first, then a confirmation; "Keep my account" backs out.
        delete = page.locator("#delete-form")
        await delete.get_by_role("button", name="Delete my account").click()
        await expect(delete.locator("#delete-form-password-error")).to_be_visible()  # no password given
        await delete.get_by_label("Password").fill("wrong password 123")
        await delete.get_by_role("button", name="Delete my account").click()
        await expect(page.locator("#delete-account-confirm")).to_be_focused()
        await axe_clean(page, "settings with the delete confirmation open")
        await snap(page, "settings-account")
        await page.locator("#delete-account-keep").click()
        await expect(page.locator("#delete-account-confirm")).to_have_count(0)
        await delete.get_by_role("button", name="Delete my account").click()
        await page.locator("#delete-account-confirm").click()
        await expect(delete.locator("#delete-form-password-error")).to_contain_text("not your current password")
        assert await login_status(http, member.username, NEW_PASSWORD) == 200  # nothing was deleted
        await delete.get_by_label("Password").fill(NEW_PASSWORD)
        await delete.get_by_role("button", name="Delete my account").click()
        await page.locator("#delete-account-confirm").click()
        await expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()
        await expect(page.locator("#session")).to_contain_text("Sign in")
        assert await login_status(http, member.username, NEW_PASSWORD) == 401
        async with http.get(f"/v1/works/{work['id']}") as resp:
            assert resp.status == 404
        assert not errors, errors
    except BaseException as exc:
        shot = tmp_path / "failure-account.png"
        await page.screenshot(path=str(shot), full_page=True, timeout=5_000)
        raise AssertionError(f"{exc}\nscreenshot: {shot}\nbrowser errors: {errors}") from exc
    finally:
        await context.close()
