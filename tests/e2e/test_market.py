"""The market through the gateway: credits, a priced public model, generations that pay the owner and
the artists whose works trained it (to the credit), a canceled generation that costs nothing, a 402
beyond the balance, licence trades with a certificate that verifies until a byte changes, and the
bad inputs that must be 4xx problems.

ana lends two works, mira trains a tiny model on them and six of her own (8 images: mira 6, ana 2),
makes it public and prices it; a buyer with the starting grant generates from it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.e2e.test_trainer_models import STYLE, TINY, Artist, artist

WAIT_S = 180.0
GRANT = 100  # ATELIER_MARKET_STARTING_GRANT's default
PRICE = 5
SHARE = 50


async def _eventually(check: Any, timeout_s: float = 60.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.3)


def _person(http: aiohttp.ClientSession, headers: dict[str, str]) -> Artist:
    return Artist(http, {}, headers["Authorization"].split()[1])


async def _credits(person: Artist) -> dict[str, int]:
    doc = await person.call("GET", "/v1/me/credits", 200)
    return {"balance": doc["balance"], "reserved": doc["reserved"]}


async def _request_generation(person: Artist, model_id: str, count: int) -> tuple[int, dict[str, Any]]:
    async with person.http.post("/v1/generations", json={"model_id": model_id, "count": count, "seed": 3},
                                headers=person.headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def _accepted(person: Artist, model_id: str, count: int) -> dict[str, Any]:
    async def accepted() -> dict[str, Any] | None:
        status, body = await _request_generation(person, model_id, count)
        # 404 until inference has heard the model went public, 409 until it has loaded the version
        assert status in (202, 404, 409), body
        return body if status == 202 else None

    return await _eventually(accepted)  # type: ignore[no-any-return]


async def _finished(person: Artist, generation_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        g = await person.call("GET", f"/v1/generations/{generation_id}", 200)
        return g if g["status"] in ("succeeded", "failed", "canceled") else None

    return await _eventually(done)  # type: ignore[no-any-return]


async def _settled(person: Artist) -> dict[str, int]:
    async def no_reservation() -> dict[str, int] | None:
        c = await _credits(person)
        return c if c["reserved"] == 0 else None

    return await _eventually(no_reservation)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
async def market(gateway_url: str) -> Any:
    async with aiohttp.ClientSession(base_url=gateway_url, timeout=aiohttp.ClientTimeout(total=60)) as session:
        ana, mira = await artist(session), await artist(session)
        lent = [await ana.work(STYLE, seed) for seed in (50, 51)]
        own = [await mira.work(STYLE, seed) for seed in range(10, 16)]
        accepted = await mira.call("POST", "/v1/models", 202, json={
            "name": "Priced blobs", "work_ids": own + lent, "steps": 40, **TINY})
        model = await mira.wait(accepted["id"], ("succeeded",), WAIT_S)
        await mira.call("PATCH", f"/v1/models/{model['id']}", 200, json={"visibility": "public"})
        priced = await mira.call("PUT", f"/v1/models/{model['id']}/pricing", 200,
                                 json={"price_per_image": PRICE, "contributors_share": SHARE})
        assert priced["price_per_image"] == PRICE and priced["owner_id"] == mira.user["id"]
        yield {"model": model, "lent": lent, "own": own, "ana": ana.headers, "mira": mira.headers,
               "ana_id": ana.user["id"], "mira_id": mira.user["id"]}


async def test_a_priced_generation_pays_the_owner_and_the_artists_to_the_credit(market, http) -> None:  # type: ignore[no-untyped-def]
    model = market["model"]
    ana, mira = _person(http, market["ana"]), _person(http, market["mira"])
    buyer = await artist(http, consent=False)
    before = {"buyer": await _credits(buyer), "mira": await _settled(mira), "ana": await _settled(ana)}
    assert before["buyer"] == {"balance": GRANT, "reserved": 0}

    # The price is public; the training record says who contributed what.
    async with http.get(f"/v1/models/{model['id']}/pricing") as resp:
        assert resp.status == 200 and (await resp.json())["contributors_share"] == SHARE
    (v1,) = model["versions"]
    images: dict[str, int] = {}
    for w in v1["training_works"]:
        images[w["author_id"]] = images.get(w["author_id"], 0) + w["images"]
    assert images == {market["mira_id"]: 6, market["ana_id"]: 2}

    gen = await _accepted(buyer, model["id"], 4)
    held = await _credits(buyer)
    assert held == {"balance": GRANT - 4 * PRICE, "reserved": 4 * PRICE}  # reserved at accept
    assert (await _finished(buyer, gen["id"]))["status"] == "succeeded"
    after_buyer = await _settled(buyer)

    paid = 4 * PRICE  # 20: contributors' pool 10 over 8 images -> ana 10*2//8 = 2; mira the other 18
    ana_part = paid * SHARE // 100 * 2 // 8
    mira_part = paid - ana_part

    async def paid_out() -> bool:
        return (await _credits(ana))["balance"] == before["ana"]["balance"] + ana_part

    await _eventually(paid_out)
    assert after_buyer == {"balance": GRANT - paid, "reserved": 0}
    assert (await _credits(mira))["balance"] == before["mira"]["balance"] + mira_part
    assert (await _credits(ana))["balance"] == before["ana"]["balance"] + ana_part == before["ana"]["balance"] + 2

    # Statements: the buyer's grant and reservation, the owner's settlement, each with its balance after.
    statement = await buyer.call("GET", "/v1/me/credits/statement", 200)
    kinds = [(e["kind"], e["amount"], e["balance_after"]) for e in statement["items"]]
    assert kinds == [("reserve", -paid, GRANT - paid), ("grant", GRANT, GRANT)]
    assert statement["items"][0]["reference"] == gen["id"] and statement["next_cursor"] is None
    owner_lines = (await mira.call("GET", "/v1/me/credits/statement?limit=1", 200))
    assert owner_lines["items"][0]["kind"] == "settle" and owner_lines["items"][0]["amount"] == mira_part
    assert owner_lines["items"][0]["key"] == f"settle:{gen['id']}" and owner_lines["next_cursor"]
    older = await mira.call("GET", f"/v1/me/credits/statement?cursor={owner_lines['next_cursor']}", 200)
    assert older["items"][-1]["kind"] == "grant"
    await mira.call("GET", "/v1/me/credits/statement?cursor=not-a-cursor", 400)

    # The owner generates from her own model for free.
    own_gen = await _accepted(mira, model["id"], 2)
    assert (await _credits(mira))["reserved"] == 0
    await _finished(mira, own_gen["id"])


async def test_a_canceled_generation_leaves_every_balance_as_it_was(market, http) -> None:  # type: ignore[no-untyped-def]
    model = market["model"]
    ana, mira = _person(http, market["ana"]), _person(http, market["mira"])
    buyer = await artist(http, consent=False)
    before = [await _credits(buyer), await _settled(mira), await _settled(ana)]
    gen = await _accepted(buyer, model["id"], 16)
    assert (await _credits(buyer))["reserved"] == 16 * PRICE
    canceled = await buyer.call("POST", f"/v1/generations/{gen['id']}/cancel", 200)
    assert canceled["status"] == "canceled"
    assert await _settled(buyer) == before[0]
    await asyncio.sleep(1.0)  # an (unwanted) settlement would have reached the others by now
    assert [await _credits(buyer), await _credits(mira), await _credits(ana)] == before


async def test_beyond_the_balance_is_a_402_and_nothing_is_created(market, http) -> None:  # type: ignore[no-untyped-def]
    model, mira = market["model"], _person(http, market["mira"])
    buyer = await artist(http, consent=False)
    await mira.call("PUT", f"/v1/models/{model['id']}/pricing", 200,
                    json={"price_per_image": 30, "contributors_share": SHARE})
    try:
        await _credits(buyer)
        status, problem = 0, {}
        for _ in range(100):  # 404/409 while inference catches up (see _accepted)
            status, problem = await _request_generation(buyer, model["id"], 4)
            if status not in (404, 409):
                break
            await asyncio.sleep(0.3)
        assert status == 402, problem
        assert problem["balance"] == GRANT and problem["needed"] == 120 and problem["status"] == 402
        assert (await buyer.call("GET", "/v1/generations", 200))["items"] == []
        assert await _credits(buyer) == {"balance": GRANT, "reserved": 0}
    finally:
        await mira.call("PUT", f"/v1/models/{model['id']}/pricing", 200,
                        json={"price_per_image": PRICE, "contributors_share": SHARE})


@pytest.mark.parametrize("body", [
    {"price_per_image": -1, "contributors_share": 10},
    {"price_per_image": 2.5, "contributors_share": 10},
    {"price_per_image": "5", "contributors_share": 10},
    {"price_per_image": 5, "contributors_share": 101},
    {"price_per_image": 5},
    {"price_per_image": 5, "contributors_share": 10, "currency": "eur"},
])
async def test_bad_prices_are_422(market, http, body) -> None:  # type: ignore[no-untyped-def]
    mira = _person(http, market["mira"])
    async with http.put(f"/v1/models/{market['model']['id']}/pricing", json=body, headers=mira.headers) as resp:
        assert resp.status == 422, await resp.text()
        assert resp.content_type == "application/problem+json"


async def test_only_the_owner_prices_a_public_model(market, http) -> None:  # type: ignore[no-untyped-def]
    stranger = await artist(http)
    body = {"price_per_image": 1, "contributors_share": 0}
    await stranger.call("PUT", f"/v1/models/{market['model']['id']}/pricing", 404, json=body)
    await stranger.call("PUT", "/v1/models/01HZZZZZZZZZZZZZZZZZZZZZZZ/pricing", 404, json=body)
    async with http.put(f"/v1/models/{market['model']['id']}/pricing", json=body) as resp:
        assert resp.status == 401
    work = await stranger.work(STYLE, 70)
    private = await stranger.call("POST", "/v1/models", 202, json={"name": "mine", "work_ids": [work], "steps": 5,
                                                                  **TINY})
    problem = await stranger.call("PUT", f"/v1/models/{private['id']}/pricing", 422, json=body)
    assert "public" in problem["detail"]
    await stranger.call("GET", f"/v1/models/{private['id']}/pricing", 404)  # free (and unpriced)


async def test_a_licence_trade_moves_credits_and_yields_a_certificate(market, http) -> None:  # type: ignore[no-untyped-def]
    ana = _person(http, market["ana"])
    buyer, stranger = await artist(http, consent=False), await artist(http, consent=False)
    work_id = market["lent"][0]
    ana_before = (await _settled(ana))["balance"]

    req = await buyer.call("POST", f"/v1/works/{work_id}/licence-requests", 201,
                           json={"scope": "commercial", "terms": "print run of 500", "offer_credits": 30})
    assert req["status"] == "pending" and req["author_id"] == market["ana_id"] and req["offer_credits"] == 30
    assert await _credits(buyer) == {"balance": GRANT - 30, "reserved": 30}  # the offer is held
    incoming = await ana.call("GET", "/v1/me/licence-requests?direction=incoming", 200)
    assert req["id"] in [r["id"] for r in incoming["items"]]
    outgoing = await buyer.call("GET", "/v1/me/licence-requests?direction=outgoing", 200)
    assert [r["id"] for r in outgoing["items"]] == [req["id"]]
    assert (await buyer.call("GET", "/v1/me/licence-requests", 200))["items"] == []  # nothing asked of the buyer

    # Only the author decides: anyone else (the buyer too) gets a 404.
    await stranger.call("POST", f"/v1/licence-requests/{req['id']}/accept", 404)
    await buyer.call("POST", f"/v1/licence-requests/{req['id']}/accept", 404)
    await ana.call("POST", "/v1/licence-requests/01HZZZZZZZZZZZZZZZZZZZZZZZ/accept", 404)
    accepted = await ana.call("POST", f"/v1/licence-requests/{req['id']}/accept", 200)
    assert accepted["status"] == "accepted" and accepted["licence_id"]
    await ana.call("POST", f"/v1/licence-requests/{req['id']}/accept", 409)
    await ana.call("POST", f"/v1/licence-requests/{req['id']}/decline", 409)
    assert await _credits(buyer) == {"balance": GRANT - 30, "reserved": 0}
    assert (await _credits(ana))["balance"] == ana_before + 30

    (held,) = (await buyer.call("GET", "/v1/me/licences", 200))["items"]
    assert held["id"] == accepted["licence_id"] and held["work_id"] == work_id and held["price"] == 30
    assert (await ana.call("GET", "/v1/me/licences", 200))["items"][0]["id"] == held["id"]
    cert = await buyer.call("GET", f"/v1/licences/{held['id']}/certificate", 200)
    await stranger.call("GET", f"/v1/licences/{held['id']}/certificate", 404)
    async with http.post("/v1/licences/verify", json={"jws": cert["jws"]}) as resp:  # anyone may check
        assert resp.status == 200
        verified = await resp.json()
    claims = verified["claims"]
    assert verified["valid"] is True and claims["work_id"] == work_id and claims["scope"] == "commercial"
    assert claims["licensor_id"] == market["ana_id"] and claims["licensee_id"] == buyer.user["id"]
    assert claims["price"] == 30 and claims["issued_at"] and claims["terms"] == "print run of 500"
    header, payload, signature = cert["jws"].split(".")
    for changed in (f"{header}.{payload[:-1]}{'A' if payload[-1] != 'A' else 'B'}.{signature}",
                    f"{header}.{payload}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"):
        check = await stranger.call("POST", "/v1/licences/verify", 200, json={"jws": changed})
        assert check["valid"] is False and check["claims"] is None and check["reason"]
    await stranger.call("POST", "/v1/licences/verify", 422, json={"jws": ""})

    # Declined: the offer goes back whole.
    second = await buyer.call("POST", f"/v1/works/{work_id}/licence-requests", 201,
                              json={"scope": "personal", "offer_credits": 20})
    assert (await _credits(buyer))["reserved"] == 20
    declined = await ana.call("POST", f"/v1/licence-requests/{second['id']}/decline", 200)
    assert declined["status"] == "declined" and declined["licence_id"] is None
    assert await _credits(buyer) == {"balance": GRANT - 30, "reserved": 0}


@pytest.mark.parametrize(("body", "status"), [
    ({"scope": "personal", "offer_credits": -1}, 422),
    ({"scope": "personal", "offer_credits": 1.5}, 422),
    ({"scope": "personal", "offer_credits": "3"}, 422),
    ({"scope": "everything", "offer_credits": 1}, 422),
    ({"offer_credits": 1}, 422),
    ({"scope": "personal", "offer_credits": 101}, 402),
])
async def test_bad_licence_requests(market, http, body, status) -> None:  # type: ignore[no-untyped-def]
    buyer = await artist(http, consent=False)
    problem = await buyer.call("POST", f"/v1/works/{market['lent'][1]}/licence-requests", status, json=body)
    assert problem["status"] == status
    assert await _credits(buyer) == {"balance": GRANT, "reserved": 0}


async def test_a_licence_request_on_your_own_or_a_missing_work(market, http) -> None:  # type: ignore[no-untyped-def]
    ana = _person(http, market["ana"])
    body = {"scope": "personal", "offer_credits": 1}
    problem = await ana.call("POST", f"/v1/works/{market['lent'][0]}/licence-requests", 422, json=body)
    assert "own work" in problem["detail"]
    await ana.call("POST", "/v1/works/01HZZZZZZZZZZZZZZZZZZZZZZZ/licence-requests", 404, json=body)
    async with http.post(f"/v1/works/{market['lent'][0]}/licence-requests", json=body) as resp:
        assert resp.status == 401


async def test_works_and_models_carry_spdx_licences(market, http) -> None:  # type: ignore[no-untyped-def]
    ana, mira = _person(http, market["ana"]), _person(http, market["mira"])
    work = await ana.call("GET", f"/v1/works/{market['lent'][0]}", 200)
    assert work["licence"] == "LicenseRef-All-Rights-Reserved" and work["licence_terms"] == ""
    changed = await ana.call("PATCH", f"/v1/works/{work['id']}", 200, json={"licence": "CC-BY-SA-4.0"})
    assert changed["licence"] == "CC-BY-SA-4.0"
    assert (await ana.call("GET", f"/v1/works/{work['id']}", 200))["licence"] == "CC-BY-SA-4.0"
    custom = await ana.call("PATCH", f"/v1/works/{work['id']}", 200,
                            json={"licence": "LicenseRef-Custom", "licence_terms": "ask me first"})
    assert custom["licence"] == "LicenseRef-Custom" and custom["licence_terms"] == "ask me first"
    for bad in ({"licence": "GPL-9.0"}, {"licence": "cc-by-sa-4.0x"}, {"licence": "LicenseRef-Custom"},
                {"licence": 4}):
        problem = await ana.call("PATCH", f"/v1/works/{work['id']}", 422, json=bad)
        assert problem["status"] == 422
    asset = await ana.call("POST", "/v1/assets", 201, data=_png(), headers={"Content-Type": "image/png"})
    created = await ana.call("POST", "/v1/works", 201, json={"title": "mit", "asset_ids": [asset["id"]],
                                                             "licence": "MIT"})
    assert created["licence"] == "MIT"
    await ana.call("POST", "/v1/works", 422, json={"title": "x", "asset_ids": [asset["id"]], "licence": "WTFPL"})

    model_id = market["model"]["id"]
    await mira.call("PATCH", f"/v1/models/{model_id}", 422, json={"licence": "CC-BY-5.0"})
    shared = await mira.call("PATCH", f"/v1/models/{model_id}", 200,
                             json={"licence": "CC-BY-NC-4.0", "commercial_use": False})
    assert shared["licence"] == "CC-BY-NC-4.0" and shared["commercial_use"] is False
    legacy = await mira.call("PATCH", f"/v1/models/{model_id}", 200,
                             json={"licence": "cc0-1.0", "commercial_use": True})
    assert legacy["licence"] == "CC0-1.0" and legacy["commercial_use"] is True
    async with http.get(f"/v1/models/{model_id}") as resp:  # shown to anyone on the public page
        page = await resp.json()
    assert page["licence"] == "CC0-1.0" and page["commercial_use"] is True


def _png() -> bytes:
    from demo.art import png_bytes, render

    return png_bytes(render(STYLE, 99, 64))
