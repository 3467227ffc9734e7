"""Open WebSockets do not outlive their token: changing the password or deleting the account
through the API closes every socket of that user opened with a refused token within about a
second, with close code 4401; the token issued with the change and other users' sockets stay."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType

from tests.support.members import PASSWORD, Member, sign_up

CLOSE_WITHIN_S = 2.0


async def _open(http: aiohttp.ClientSession, member: Member) -> Any:
    ws = await http.ws_connect("/v1/events", protocols=("atelier.v1", f"bearer.{member.token}"))
    await ws.send_json({"subscribe": ["me"]})
    while "subscribed" not in (doc := await ws.receive_json(timeout=10)):
        assert "error" not in doc, doc
    return ws


async def _closed_within(ws: Any, limit_s: float) -> tuple[int, str]:
    """The close code and reason of `ws`, closed by the server within `limit_s` (else the test fails)."""
    began = time.monotonic()
    while True:
        left = limit_s - (time.monotonic() - began)
        assert left > 0, f"the socket was still open {limit_s} s after the revocation"
        try:
            msg = await ws.receive(timeout=left)
        except TimeoutError:
            raise AssertionError(f"the socket was still open {limit_s} s after the revocation") from None
        if msg.type == WSMsgType.CLOSE:  # the server's close frame: its code and reason
            return int(msg.data), str(msg.extra or "")
        if msg.type in (WSMsgType.CLOSING, WSMsgType.CLOSED):
            return int(ws.close_code or 0), str(msg.extra or "")


async def _still_open(ws: Any) -> None:
    await ws.send_json({"ping": "still there?"})
    while True:
        msg = await ws.receive(timeout=5)
        assert msg.type == WSMsgType.TEXT, f"the socket closed: {msg.type} {ws.close_code} {msg.extra}"
        if '"pong"' in msg.data:
            return


async def test_a_password_change_and_an_account_deletion_close_the_users_sockets(
        http: aiohttp.ClientSession) -> None:
    member, bystander = await sign_up(http, "ws_"), await sign_up(http, "ws_")
    async with http.post("/v1/auth/login", json={"login": member.username, "password": PASSWORD}) as resp:
        other_device = Member(http, await resp.json())
    first, second, theirs = await _open(http, member), await _open(http, other_device), await _open(http, bystander)

    session = await member.call("POST", "/v1/me/password", 200,
                                json={"current": PASSWORD, "new": "a new secret 42"})
    for ws in (first, second):
        code, reason = await _closed_within(ws, CLOSE_WITHIN_S)
        assert code == 4401 and "password was changed" in reason, (code, reason)
    await _still_open(theirs)

    renewed = Member(http, session)
    fresh = await _open(http, renewed)  # the token that came with the change opens a socket that stays
    await _still_open(fresh)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:  # the old token cannot come back in
        await http.ws_connect("/v1/events", protocols=("atelier.v1", f"bearer.{member.token}"))
    assert refused.value.status == 401
    await renewed.call("DELETE", "/v1/me", 204, json={"password": "a new secret 42"})
    code, reason = await _closed_within(fresh, CLOSE_WITHIN_S)
    assert code == 4401 and "deleted" in reason, (code, reason)
    await _still_open(theirs)
    await theirs.close()
