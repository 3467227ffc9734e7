"""Accounts through the gateway: signup, login, profiles, follows and the error statuses."""

from __future__ import annotations

import secrets
from typing import Any

import aiohttp
import pytest

PASSWORD = "correct horse battery"


def _name() -> str:
    return "u_" + secrets.token_hex(6)


async def _signup(http: aiohttp.ClientSession, username: str | None = None) -> dict[str, Any]:
    username = username or _name()
    async with http.post("/v1/auth/signup", json={"username": username, "email": f"{username}@example.com",
                                                  "password": PASSWORD}) as resp:
        assert resp.status == 201, await resp.text()
        return await resp.json()


def _auth(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['token']}"}


async def test_signup_then_login_by_username_or_email(http: aiohttp.ClientSession) -> None:
    username = _name()
    created = await _signup(http, username.upper())
    assert created["user"]["username"] == username
    assert created["user"]["allow_training"] is False  # consent is opt-in
    for login in (username, username.upper(), f"{username}@EXAMPLE.com"):
        async with http.post("/v1/auth/login", json={"login": login, "password": PASSWORD}) as resp:
            assert resp.status == 200
            assert (await resp.json())["user"]["id"] == created["user"]["id"]
    async with http.get("/v1/me", headers=_auth(created)) as resp:
        me = await resp.json()
        assert me["username"] == username and me["email"].lower() == f"{username}@example.com"


async def test_wrong_password_and_unknown_user_are_401(http: aiohttp.ClientSession) -> None:
    session = await _signup(http)
    for login, password in ((session["user"]["username"], "wrong password!"), (_name(), PASSWORD)):
        async with http.post("/v1/auth/login", json={"login": login, "password": password}) as resp:
            assert resp.status == 401
            assert resp.content_type == "application/problem+json"


async def test_duplicates_conflict_case_insensitively(http: aiohttp.ClientSession) -> None:
    username = _name()
    await _signup(http, username)
    async with http.post("/v1/auth/signup", json={"username": username.upper(), "email": f"x{username}@example.com",
                                                  "password": PASSWORD}) as resp:
        assert resp.status == 409
    async with http.post("/v1/auth/signup", json={"username": _name(), "email": f"{username.upper()}@example.com",
                                                  "password": PASSWORD}) as resp:
        assert resp.status == 409


@pytest.mark.parametrize("body, field", [
    ({"username": "ab", "email": "a@example.com", "password": PASSWORD}, "username"),
    ({"username": "bad-name!", "email": "a@example.com", "password": PASSWORD}, "username"),
    ({"username": "good_name", "email": "not an email", "password": PASSWORD}, "email"),
    ({"username": "good_name", "email": "a@example.com", "password": "short"}, "password"),
    ({"username": "good_name", "email": "a@example.com"}, "password"),
])
async def test_invalid_signup_is_422_naming_the_field(http: aiohttp.ClientSession, body: dict[str, str],
                                                      field: str) -> None:
    async with http.post("/v1/auth/signup", json=body) as resp:
        assert resp.status == 422
        problem = await resp.json()
        assert field in {e["field"] for e in problem["errors"]}


async def test_malformed_and_mistyped_bodies(http: aiohttp.ClientSession) -> None:
    async with http.post("/v1/auth/signup", data=b'{"username": ', headers={"Content-Type": "application/json"}) as r:
        assert r.status == 400
    async with http.post("/v1/auth/signup", data=b"username=x", headers={"Content-Type": "text/plain"}) as r:
        assert r.status == 415
    async with http.post("/v1/auth/signup", json=["not", "an", "object"]) as r:
        assert r.status == 422
    nul = {"username": "nul_user", "email": "nul@example.com", "password": "correct horse\u0000battery"}
    async with http.post("/v1/auth/signup", json=nul) as r:
        assert r.status == 422  # PostgreSQL text cannot hold NUL: refused, never a 500
    async with http.get("/v1/works", params={"q": "sea\x00"}) as r:
        assert r.status == 422


async def test_missing_or_invalid_token_is_401(http: aiohttp.ClientSession) -> None:
    async with http.get("/v1/me") as resp:
        assert resp.status == 401
    async with http.get("/v1/me", headers={"Authorization": "Bearer not.a.jwt"}) as resp:
        assert resp.status == 401
    async with http.put(f"/v1/users/{_name()}/follow") as resp:
        assert resp.status == 401


async def test_profile_patch_and_public_profile(http: aiohttp.ClientSession) -> None:
    session = await _signup(http)
    patch = {"display_name": "Ada L.", "bio": "paints with light", "allow_training": True}
    async with http.patch("/v1/me", json=patch, headers=_auth(session)) as resp:
        assert resp.status == 200
        assert {k: (await resp.json())[k] for k in patch} == patch
    async with http.patch("/v1/me", json={"bio": None}, headers=_auth(session)) as resp:
        assert resp.status == 422
    async with http.get(f"/v1/users/{session['user']['username'].upper()}") as resp:
        profile = await resp.json()
        assert profile["display_name"] == "Ada L." and "email" not in profile
        assert profile["counts"] == {"followers": 0, "following": 0, "works": 0, "likes_received": 0}
    async with http.get(f"/v1/users/{_name()}") as resp:
        assert resp.status == 404


async def test_follow_is_idempotent_and_counted(http: aiohttp.ClientSession) -> None:
    fan, artist = await _signup(http), await _signup(http)
    url = f"/v1/users/{artist['user']['username']}/follow"
    for _ in range(2):
        async with http.put(url, headers=_auth(fan)) as resp:
            assert resp.status == 204
    async with http.get(f"/v1/users/{artist['user']['username']}", headers=_auth(fan)) as resp:
        profile = await resp.json()
        assert profile["counts"]["followers"] == 1 and profile["followed_by_me"] is True
    for _ in range(2):
        async with http.delete(url, headers=_auth(fan)) as resp:
            assert resp.status == 204
    async with http.get(f"/v1/users/{artist['user']['username']}") as resp:
        assert (await resp.json())["counts"]["followers"] == 0


async def test_following_yourself_is_422_and_unknown_user_404(http: aiohttp.ClientSession) -> None:
    me = await _signup(http)
    async with http.put(f"/v1/users/{me['user']['username']}/follow", headers=_auth(me)) as resp:
        assert resp.status == 422
    async with http.put(f"/v1/users/{_name()}/follow", headers=_auth(me)) as resp:
        assert resp.status == 404
