"""Sign-up enumeration, mitigated: a taken username and a taken email get the same 409 (the email
alone is not confirmed), and one client can attempt only so many sign-ups per window (429 with
Retry-After, nothing written); another client is not affected. The limit is tested on a gateway of
its own with a low limit (the session gateway's is lifted for the suite's many sign-ups)."""

from __future__ import annotations

import secrets
from typing import Any

import aiohttp

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from tests.support.members import PASSWORD, sign_up

LIMIT = 3


def _body(username: str | None = None, email: str | None = None) -> dict[str, str]:
    name = username or "sl_" + secrets.token_hex(6)
    return {"username": name, "email": email or f"{name}@example.com", "password": PASSWORD}


def _client() -> dict[str, str]:
    return {"X-Forwarded-For": f"198.51.100.{secrets.randbelow(250) + 1}, 10.0.{secrets.randbelow(250)}.7"}


async def test_taken_username_and_taken_email_get_the_same_answer(http: aiohttp.ClientSession) -> None:
    member = await sign_up(http, "sl_")
    answers = []
    for body in (_body(username=member.username.upper()), _body(email=f"{member.username.upper()}@example.com")):
        async with http.post("/v1/auth/signup", json=body) as resp:
            assert resp.status == 409 and resp.content_type == "application/problem+json"
            problem = await resp.json()
            answers.append((problem["detail"], problem["errors"]))
    assert answers[0] == answers[1]
    assert "username or email" in answers[0][0] and "taken" not in answers[0][0]


async def test_sign_ups_are_limited_per_client(endpoints: Any, aiohttp_client: Any) -> None:
    gateway = await aiohttp_client(await create_app(GatewaySettings(
        nats_url=endpoints.nats_url, jwt_public_key_file=endpoints.jwt_public_key_file,
        signup_per_client=LIMIT, signup_window_s=3600, forwarded_hops=1)))
    probing, other = _client(), _client()
    while other["X-Forwarded-For"].split(",")[0] == probing["X-Forwarded-For"].split(",")[0]:
        other = _client()

    async with gateway.post("/v1/auth/signup", json={"username": "x"}, headers=probing) as resp:
        assert resp.status == 422  # a body that does not validate is not an attempt
    first = _body()
    async with gateway.post("/v1/auth/signup", json=first, headers=probing) as resp:
        assert resp.status == 201, await resp.text()
    for _ in range(LIMIT - 1):  # probes that conflict count too
        async with gateway.post("/v1/auth/signup", json=_body(email=first["email"]), headers=probing) as resp:
            assert resp.status == 409
    refused = _body()
    async with gateway.post("/v1/auth/signup", json=refused, headers=probing) as resp:
        assert resp.status == 429 and resp.content_type == "application/problem+json"
        assert int(resp.headers["Retry-After"]) >= 1
        problem = await resp.json()
        assert problem["limit"] == LIMIT and problem["window_s"] == 3600 and problem["retry_after_s"] >= 1
    async with gateway.post("/v1/auth/login", json={"login": refused["username"], "password": PASSWORD},
                            headers=probing) as resp:
        assert resp.status == 401  # the refused sign-up created nothing
    async with gateway.post("/v1/auth/signup", json=_body(), headers=other) as resp:
        assert resp.status == 201, await resp.text()  # another client is not affected
