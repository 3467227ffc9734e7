"""Login protection through the gateway: a guessing client is slowed to 429s with Retry-After, and
the account's owner still signs in from another client (or from their usual one while many
addresses guess). Clients are told apart by X-Forwarded-For (ATELIER_FORWARDED_HOPS=1 here)."""

from __future__ import annotations

import secrets
import time

import aiohttp

from tests.support.members import PASSWORD, sign_up

WRONG = "not the password at all"


def _client() -> dict[str, str]:
    return {"X-Forwarded-For": f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"}


async def _login(http: aiohttp.ClientSession, login: str, password: str, client: dict[str, str]
                 ) -> tuple[int, dict[str, str], dict[str, object]]:
    async with http.post("/v1/auth/login", json={"login": login, "password": password}, headers=client) as resp:
        return resp.status, dict(resp.headers), await resp.json(content_type=None)


async def test_fifty_wrong_passwords_get_429_and_the_owner_still_signs_in_elsewhere(
        http: aiohttp.ClientSession) -> None:
    member = await sign_up(http, "guard_")
    attacker = _client()
    statuses: list[int] = []
    limited: tuple[dict[str, str], dict[str, object]] | None = None
    began = time.monotonic()
    for _ in range(50):
        status, headers, body = await _login(http, member.username, WRONG, attacker)
        statuses.append(status)
        if status == 429 and limited is None:
            limited = headers, body
    elapsed = time.monotonic() - began
    assert set(statuses) <= {401, 429}
    assert limited is not None, statuses
    headers, body = limited
    assert headers["Content-Type"].startswith("application/problem+json")
    assert int(headers["Retry-After"]) >= 1 and body["retry_after_s"] == int(headers["Retry-After"])
    assert body["status"] == 429
    # Most guesses were refused before any password hashing: only a few were really checked.
    assert statuses.count(401) <= 12, statuses
    assert statuses[:4] == [401] * 4  # a few typos are free
    # While locked, even the right password from the guessing client waits (no oracle).
    status, headers, _ = await _login(http, member.username, PASSWORD, attacker)
    assert status == 429 and int(headers["Retry-After"]) >= 1
    # The owner, on another client, is not locked out.
    status, _, body = await _login(http, member.username, PASSWORD, _client())
    assert status == 200 and body["user"]["id"] == member.id
    assert elapsed < 60


async def test_guessing_from_many_addresses_stops_new_clients_but_not_the_owners_usual_one(
        http: aiohttp.ClientSession) -> None:
    member = await sign_up(http, "guard_")
    usual = _client()
    assert (await _login(http, member.username, PASSWORD, usual))[0] == 200  # a client the user used before
    locked_after = None
    for attempt in range(1, 61):  # one guess per new address: the per-client limit never triggers
        status, headers, _ = await _login(http, member.username, WRONG, _client())
        if status == 429:
            locked_after = attempt
            assert int(headers["Retry-After"]) >= 1
            break
        assert status == 401
    assert locked_after is not None, "guesses spread over many addresses were never limited"
    status, headers, _ = await _login(http, member.username, PASSWORD, _client())
    assert status == 429 and int(headers["Retry-After"]) >= 1  # a new client waits, right password or not
    status, _, body = await _login(http, member.username, PASSWORD, usual)
    assert status == 200 and body["user"]["id"] == member.id  # the owner's usual client passes


async def test_unknown_accounts_are_limited_like_real_ones(http: aiohttp.ClientSession) -> None:
    client = _client()
    login = "nobody_" + secrets.token_hex(4)
    statuses = [(await _login(http, login, WRONG, client))[0] for _ in range(12)]
    assert statuses[0] == 401 and 429 in statuses  # the same answers as for an account that exists
