"""Members signed in to the web app in browser pages of their own, for end-to-end screen tests.

`members_on_screen` opens one browser context per member (cookies and storage apart, as two
people on two machines), signs each in, and yields their pages by name. A JavaScript error on any
page fails the test; a failure carries a full-page screenshot of every page and the browser errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Page

from tests.support.members import Member

UI_TIMEOUT_MS = 20_000


async def open_as(context: BrowserContext, gateway_url: str, member: Member, errors: list[str]) -> Page:
    """A new page of `context`, signed in as `member` (the web app's stored session), on the feed."""
    page = await context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.on("pageerror", lambda exc: errors.append(f"{member.username}: {exc}"))
    await page.goto(f"{gateway_url}/#/signin")
    await page.evaluate("""(s) => { localStorage.setItem("atelier.token", s.token);
        localStorage.setItem("atelier.user", JSON.stringify(s.user)); }""",
                        {"token": member.token, "user": {"id": member.id, "username": member.username}})
    await page.goto(f"{gateway_url}/#/feed/trending")
    await page.reload()
    return page


async def shots(pages: Mapping[str, Page], tmp_path: Path) -> str:
    names = []
    for name, page in pages.items():
        path = tmp_path / f"failure-{name}.png"
        try:
            await page.screenshot(path=str(path), full_page=True, timeout=5_000)
            names.append(str(path))
        except Exception as exc:  # a screenshot must not hide the real failure
            names.append(f"{name}: no screenshot ({exc})")
    return ", ".join(names)


@asynccontextmanager
async def members_on_screen(browser: Browser, gateway_url: str, tmp_path: Path,
                            members: Mapping[str, Member]) -> AsyncIterator[dict[str, Page]]:
    errors: list[str] = []
    pages: dict[str, Page] = {}
    contexts: list[BrowserContext] = []
    try:
        for name, member in members.items():
            contexts.append(await browser.new_context(accept_downloads=True))
            pages[name] = await open_as(contexts[-1], gateway_url, member, errors)
        yield pages
        assert not errors, errors
    except BaseException as exc:
        raise AssertionError(f"{exc}\nscreenshots: {await shots(pages, tmp_path)}\nbrowser errors: {errors}") from exc
    finally:
        for context in contexts:
            await context.close()
