"""Fixtures of the end-to-end tests: everything goes through the gateway of the session platform."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import aiohttp
import pytest
from playwright.async_api import Browser, async_playwright

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture
async def http(gateway_url: str) -> AsyncIterator[aiohttp.ClientSession]:
    """A client session whose relative URLs go to the gateway."""
    async with aiohttp.ClientSession(base_url=gateway_url, timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (no browser download)."""
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


# The session gateway stands behind one trusted proxy, as in production (deploy/k8s prod overlay):
# tests name their client with X-Forwarded-For (the login guard counts per client); requests
# without the header are counted by their peer address as before. Read when the platform starts.
os.environ.setdefault("ATELIER_FORWARDED_HOPS", "1")
