"""The market and tools screens in a real browser (Debian Chromium), only through the web app against
the session platform:

- a buyer asks for a licence on a seller's work (an offer beyond the balance is refused in words
  beside nothing, a fractional offer beside its field), the seller accepts it on their licences
  page, and the licence appears for the buyer with its signed certificate to download;
- both read their credits: the balance and the statement lines in words (starting credits, the
  licence paid and earned) with the balance after each;
- the seller sees a resized copy of their picture that the buyer published (both thumbnails and
  the distance);
- the seller adds a webhook endpoint (a bad URL is an error beside the field; the secret is shown
  once), sends a test that the receiver refuses until the endpoint is switched off, reads the
  failure in the delivery log, is told why a retry is refused, resumes it and retries: delivered;
- the seller prices their public style model (a share over 100% is an error beside its field) and
  the buyer reads the price on the model's public page.

axe-core finds nothing serious or critical on each new page. With ATELIER_SCREENSHOTS=DIR the
pages are kept at desktop width and at 390 px (how docs/images/ is made).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.test_rights import png, reencoded, shown_publicly, upload
from tests.e2e.test_webapp_consent_screens import _until, axe_clean, snap
from tests.support.members import Member, sign_up
from tests.support.screens import members_on_screen
from tests.support.webhook_receiver import Behaviour, Receiver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
TINY_MODEL = {"name": "Priced ink", "architecture": "vae", "image_size": 32, "steps": 20, "width": 16, "batch_size": 8}
OFFER = 7
GRANT = 100  # the market's starting grant (services/market/settings.py)
TEST_EVENT = "webhooks.endpoint.test"


async def fits_a_phone(page: Page, where: str) -> None:
    """At 390 px the page as it is now does not scroll sideways."""
    size = page.viewport_size or {"width": 1280, "height": 860}
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.wait_for_timeout(200)
    box = await page.evaluate("""() => ({ scroll: document.documentElement.scrollWidth, width: innerWidth,
        wide: [...document.querySelectorAll("body *")].filter((n) => n.getBoundingClientRect().right > innerWidth + 1)
          .slice(-3).map((n) => `${n.tagName.toLowerCase()}.${n.className} ${n.getBoundingClientRect().right}`) })""")
    await page.set_viewport_size(size)
    assert box["scroll"] <= box["width"] + 1, f"{where} scrolls sideways at 390 px: {box}"


async def seed(http: aiohttp.ClientSession) -> dict[str, Any]:
    """A seller with a public picture (and a tiny style model training meanwhile), a buyer who
    published a resized JPEG of that picture, acknowledging the likeness."""
    seller, buyer = await sign_up(http, "seller_"), await sign_up(http, "buyer_")
    await seller.call("PATCH", "/v1/me", 200, json={"allow_training": True})
    original = png("waves", 7301)
    original_asset = await upload(seller, original)
    work = await seller.call("POST", "/v1/works", 201, json={"title": "Tide by hand", "asset_ids": [original_asset],
                                                              "allow_training": True})
    others = [await seller.publish(f"Ink {i}", allow_training=True) for i in range(2)]
    model = await seller.call("POST", "/v1/models", 202, json={
        **TINY_MODEL, "work_ids": [work["id"]] + [w["id"] for w in others]})
    await shown_publicly(http, original_asset)
    copy_asset = await upload(buyer, reencoded(original, 0.8, 80), "image/jpeg")
    copy = await buyer.call("POST", "/v1/works", 201, json={"title": "Tide, after", "asset_ids": [copy_asset],
                                                            "acknowledge_similarity": True})
    await shown_publicly(http, copy_asset)

    async def listed() -> bool:
        items = (await seller.call("GET", "/v1/me/possible-copies", 200))["items"]
        return bool(items) and items[0]["published_in"] == [copy["id"]]
    await _until(listed, "the copy to be listed with its public work", 30.0)
    return {"seller": seller, "buyer": buyer, "work": work, "model": model, "copy": copy}


async def test_licences_credits_copies_webhooks_and_pricing_on_screen(
        browser: Browser, gateway_url: str, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    c = await seed(http)
    seller: Member = c["seller"]
    buyer: Member = c["buyer"]
    receiver = await Receiver().start()
    try:
        async with members_on_screen(browser, gateway_url, tmp_path, {"seller": seller, "buyer": buyer}) as pages:
            page, buyer_page = pages["seller"], pages["buyer"]
            await _licence_trade(page, buyer_page, gateway_url, c)
            await _credits(page, buyer_page, gateway_url)
            await _possible_copy(page, gateway_url, c)
            await _webhooks(page, gateway_url, receiver)
            await _pricing(page, buyer_page, gateway_url, seller, c["model"]["id"])
    finally:
        await receiver.stop()


async def _licence_trade(page: Page, buyer_page: Page, gateway_url: str, c: dict[str, Any]) -> None:
    await buyer_page.goto(f"{gateway_url}/#/works/{c['work']['id']}")
    await buyer_page.get_by_role("button", name="Request a licence").click()
    form = buyer_page.locator("#licence-form")
    await expect(form).to_contain_text("This work's own licence: All rights reserved.")
    await form.get_by_label("Use").select_option("commercial")
    await form.get_by_label("Proposed terms (optional)").fill("Print run of 200 posters")
    # More than the balance: the server's words, not a raw dump; nothing is created.
    await form.get_by_label("Credits offered").fill(str(GRANT + 1))
    await form.get_by_role("button", name="Send request").click()
    refused = f"you offer {GRANT + 1} credits and have {GRANT}"
    await expect(buyer_page.locator("#licence-status")).to_contain_text(refused)
    await axe_clean(buyer_page, "the licence request form with an error")
    await snap(buyer_page, "licence-request")
    await form.get_by_label("Credits offered").fill(str(OFFER))
    await form.get_by_role("button", name="Send request").click()
    await expect(buyer_page.locator("#licence-sent")).to_contain_text("Request sent")

    # The seller accepts it on their licences page.
    await page.goto(f"{gateway_url}/#/licences")
    request = page.locator("#incoming-requests .licence-request")
    await expect(request).to_have_count(1)
    await expect(request).to_contain_text("Commercial use of “Tide by hand”")
    await expect(request).to_contain_text(f"offer: {OFFER} credits")
    await expect(request).to_contain_text("Print run of 200 posters")
    await axe_clean(page, "the licences page with a pending request")
    await request.get_by_role("button", name="Accept").click()
    accepted = page.locator('#incoming-requests .licence-request[data-status="accepted"]')
    await expect(accepted).to_have_count(1)
    await expect(accepted.get_by_role("button", name="Accept")).to_have_count(0)
    await expect(page.locator("#my-licences .licence")).to_contain_text("you granted")

    # The buyer holds the licence and downloads its certificate; the request reads accepted.
    await buyer_page.goto(f"{gateway_url}/#/licences")
    held = buyer_page.locator("#my-licences .licence")
    await expect(held).to_have_count(1)
    await expect(held).to_contain_text("you hold")
    await expect(held).to_contain_text(f"Commercial use of “Tide by hand” by @{c['seller'].username}")
    await expect(held).to_contain_text(f"{OFFER} credits")
    await expect(buyer_page.locator('#outgoing-requests .licence-request[data-status="accepted"]')).to_have_count(1)
    async with buyer_page.expect_download() as download:
        await held.get_by_role("button", name="Download certificate").click()
    saved = await download.value
    licence_id = await held.get_attribute("data-licence-id")
    assert saved.suggested_filename == f"licence-{licence_id}.json"
    cert = json.loads(await asyncio.to_thread(Path(await saved.path()).read_text))
    assert cert["licence_id"] == licence_id and cert["jws"].count(".") == 2, cert
    verified = await (await buyer_page.context.request.post(f"{gateway_url}/v1/licences/verify",
                                                            data={"jws": cert["jws"]})).json()
    assert verified["valid"] is True and verified["claims"]["work_id"] == c["work"]["id"], verified
    await axe_clean(buyer_page, "the buyer's licences page")
    await fits_a_phone(buyer_page, "the buyer's licences page")
    await snap(buyer_page, "licences")


async def _credits(page: Page, buyer_page: Page, gateway_url: str) -> None:
    await buyer_page.goto(f"{gateway_url}/#/credits")
    await expect(buyer_page.locator("#balance-amount")).to_have_text(f"{GRANT - OFFER} credits")
    rows = buyer_page.locator("#statement-rows tr")
    await expect(rows.filter(has_text="Starting credits")).to_contain_text(f"+{GRANT}")
    await expect(rows.filter(has_text="Offered for a licence")).to_contain_text(f"\N{MINUS SIGN}{OFFER}")
    # Newest first: the last movement left the balance where the header says.
    await expect(rows.first.locator("td").last).to_have_text(str(GRANT - OFFER))
    await expect(buyer_page.locator("#nav a.active")).to_have_text("Market")
    await axe_clean(buyer_page, "the buyer's credits")
    await fits_a_phone(buyer_page, "the buyer's credits")
    await snap(buyer_page, "credits")
    await page.goto(f"{gateway_url}/#/credits")
    await expect(page.locator("#balance-amount")).to_have_text(f"{GRANT + OFFER} credits")
    earned = page.locator("#statement-rows tr", has_text="Earned: a licence you granted")
    await expect(earned).to_contain_text(f"+{OFFER}")
    await expect(earned.locator("td").last).to_have_text(str(GRANT + OFFER))


async def _possible_copy(page: Page, gateway_url: str, c: dict[str, Any]) -> None:
    await page.get_by_role("link", name="Possible copies").click()
    pair = page.locator("#possible-copies .copy-pair")
    await expect(pair).to_have_count(1)
    distance = int(await pair.get_attribute("data-distance") or "-1")
    assert 0 <= distance <= 6, distance
    await expect(pair).to_contain_text(f"(distance {distance} of 64)")
    await expect(pair).to_contain_text(f"“Tide, after” by @{c['buyer'].username}")
    images = pair.locator("img")
    await expect(images).to_have_count(2)
    for i in range(2):  # both thumbnails really loaded
        await expect(images.nth(i)).to_have_attribute("src", re.compile(r"^blob:"))
        assert await images.nth(i).evaluate("(img) => img.decode().then(() => img.naturalWidth)") > 0
    mine = pair.get_by_role("link", name="open your work")
    await expect(mine).to_have_attribute("href", f"#/works/{c['work']['id']}")
    await axe_clean(page, "possible copies")
    await fits_a_phone(page, "possible copies")
    await snap(page, "possible-copies")


async def _webhooks(page: Page, gateway_url: str, receiver: Receiver) -> None:
    receiver.behaviour["hook"] = Behaviour(statuses=[500] * 5, then=200)  # every first attempt and retry fails
    await page.get_by_role("link", name="Webhooks").click()
    await expect(page.locator("#endpoints")).to_be_attached()
    form = page.locator("#webhook-form")
    url = form.get_by_label("URL that receives the events")
    await url.fill("ftp://example.com/hook")
    await form.get_by_role("button", name="Add endpoint").click()
    await expect(url).to_have_attribute("aria-invalid", "true")
    beside = page.locator("#webhook-form-url-error")
    await expect(beside).to_contain_text("https://")
    await expect(url).to_have_attribute("aria-describedby", re.compile("webhook-form-url-error"))
    await axe_clean(page, "the webhook form with a field error")
    await url.fill(receiver.url("hook"))
    await form.get_by_label(re.compile(r"^a generation finished")).check()
    await form.get_by_role("button", name="Add endpoint").click()
    secret = page.locator("#webhook-secret")
    await expect(secret).to_have_text(re.compile(r"^whsec_\S+$"))
    endpoint = page.locator("#endpoints .endpoint")
    await expect(endpoint).to_have_count(1)
    await expect(endpoint).to_contain_text(receiver.url("hook"))
    await expect(endpoint).to_contain_text("inference.generation.completed")
    await axe_clean(page, "webhooks with the new secret")
    await fits_a_phone(page, "webhooks with the new secret")
    await snap(page, "webhooks")
    # The secret is gone once the page is left.
    await page.reload()
    await expect(page.locator("#endpoints .endpoint")).to_have_count(1)
    await expect(page.locator("#webhook-secret")).to_have_count(0)

    # A test, refused five times: the log shows the failure and the endpoint switched off.
    await page.get_by_role("link", name="Delivery log").click()
    await page.get_by_role("button", name="Send a test").click()
    row = page.locator("#delivery-rows tr").first
    await expect(row).to_contain_text(TEST_EVENT)
    await expect(row).to_have_attribute("data-status", "failed", timeout=30_000)
    await expect(row.locator(".attempts")).to_have_text("5")
    await expect(row).to_contain_text("HTTP 500")
    await page.get_by_role("button", name="Refresh").click()
    await expect(page.locator("#endpoint-state")).to_contain_text("Deliveries are off")
    await row.get_by_role("button", name=re.compile("^Retry")).click()
    await expect(row.locator(".retry-note")).to_contain_text("switched off: resume its deliveries")
    await axe_clean(page, "the delivery log with a failed delivery")
    await fits_a_phone(page, "the delivery log with a failed delivery")
    await snap(page, "webhook-log")
    await page.get_by_role("button", name="Resume deliveries").click()
    await expect(page.locator("#endpoint-state")).to_be_empty()
    await row.get_by_role("button", name=re.compile("^Retry")).click()
    delivered = page.locator("#delivery-rows tr").first
    await expect(delivered).to_have_attribute("data-status", "succeeded", timeout=30_000)
    await expect(delivered.locator(".attempts")).to_have_text("6")
    await expect(delivered).to_contain_text("HTTP 200")
    got = await receiver.wait_for("hook", lambda r: len(r) >= 6, 10.0)
    assert json.loads(got[-1].body)["type"] == f"atelier.{TEST_EVENT}"


async def _pricing(page: Page, buyer_page: Page, gateway_url: str, seller: Member, model_id: str) -> None:
    async def trained() -> bool:
        got = await seller.call("GET", f"/v1/models/{model_id}", 200)
        assert got["status"] not in ("failed", "canceled"), got
        return bool(got["status"] == "succeeded")
    await _until(trained, "the tiny model to train", 150.0)
    await seller.call("PATCH", f"/v1/models/{model_id}", 200, json={"visibility": "public"})
    await page.goto(f"{gateway_url}/#/models/{model_id}")
    form = page.locator("#pricing-form")
    await expect(page.locator("#pricing-summary")).to_contain_text("Free")
    await form.get_by_label("Credits per image (0: free)").fill("3")
    share = form.get_by_label("Contributors' share (%)")
    await share.fill("150")
    await form.get_by_role("button", name="Save price").click()
    await expect(share).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#pricing-form-contributors_share-error")).to_contain_text("100")
    await share.fill("40")
    await form.get_by_role("button", name="Save price").click()
    await expect(page.locator("#pricing-status")).to_contain_text("Price saved")
    await expect(page.locator("#pricing-summary")).to_contain_text("Others pay 3 credits per image; 40% of it")
    await expect(share).not_to_have_attribute("aria-invalid", "true")
    await axe_clean(page, "the owner's model page with its price")
    await fits_a_phone(page, "the owner's model page with its price")
    await page.locator("#pricing-form").scroll_into_view_if_needed()
    await snap(page, "model-pricing")
    await buyer_page.goto(f"{gateway_url}/#/models/{model_id}")
    price = buyer_page.locator("#model-price")
    await expect(price).to_have_text("Generating costs 3 credits per image (see your credits).")
    await axe_clean(buyer_page, "a priced public model")
