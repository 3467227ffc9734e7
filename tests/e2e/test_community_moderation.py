"""Reported works under review: moderators see the queue, restore a work or remove it."""

from __future__ import annotations

import secrets
from typing import Any

import aiohttp
import pytest

from tests.conftest import MODERATOR
from tests.support.members import PASSWORD, Member, sign_up

REPORTS_TO_HIDE = 3  # the community default (ATELIER_REPORT_HIDE_THRESHOLD)


@pytest.fixture
async def moderator(http: aiohttp.ClientSession) -> Member:
    """The moderator account: signed up by the first test that needs it, signed in after that."""
    async with http.post("/v1/auth/signup", json={"username": MODERATOR, "email": f"{MODERATOR}@example.com",
                                                  "password": PASSWORD}) as resp:
        if resp.status == 201:
            return Member(http, await resp.json())
        assert resp.status == 409, await resp.text()
    async with http.post("/v1/auth/login", json={"login": MODERATOR, "password": PASSWORD}) as resp:
        assert resp.status == 200, await resp.text()
        return Member(http, await resp.json())


async def _hidden_work(http: aiohttp.ClientSession) -> tuple[Member, dict[str, Any], str, list[Member]]:
    artist = await sign_up(http, "m_")
    tag = "t" + secrets.token_hex(5)
    work = await artist.publish("reported", tags=[tag])
    reporters = [await sign_up(http, "r_") for _ in range(REPORTS_TO_HIDE)]
    for i, member in enumerate(reporters):
        await member.call("POST", f"/v1/works/{work['id']}/reports", 202,
                          json={"reason": "spam", "details": f"seen {i} times"})
    page = await artist.call("GET", "/v1/works", 200, params={"tag": tag})
    assert page["items"] == []  # hidden from listings pending review
    return artist, work, tag, reporters


async def _queue_entry(moderator: Member, work_id: str) -> dict[str, Any] | None:
    cursor = None
    while True:
        page = await moderator.call("GET", "/v1/moderation/queue", 200,
                                    params={"limit": 50, **({"cursor": cursor} if cursor else {})})
        found = next((item for item in page["items"] if item["work"]["id"] == work_id), None)
        if found or page["next_cursor"] is None:
            return found
        cursor = page["next_cursor"]


async def test_a_moderator_restores_a_hidden_work_and_the_same_reporters_cannot_hide_it_again(
        http: aiohttp.ClientSession, moderator: Member) -> None:
    artist, work, tag, reporters = await _hidden_work(http)
    entry = await _queue_entry(moderator, work["id"])
    assert entry is not None
    assert entry["work"]["hidden"] is True and entry["open_reports"] == REPORTS_TO_HIDE
    assert sorted(r["reporter"] for r in entry["reports"]) == sorted(m.username for m in reporters)
    assert {r["reason"] for r in entry["reports"]} == {"spam"}

    decided = await moderator.call("POST", f"/v1/works/{work['id']}/moderation", 200,
                                   json={"decision": "restore", "note": "satire, not spam"})
    assert decided == {"work_id": work["id"], "decision": "restore", "closed_reports": REPORTS_TO_HIDE}
    assert [w["id"] for w in (await artist.call("GET", "/v1/works", 200, params={"tag": tag}))["items"]] == [
        work["id"]]
    assert (await artist.call("GET", f"/v1/works/{work['id']}", 200))["hidden"] is False
    assert await _queue_entry(moderator, work["id"]) is None

    for member in reporters:  # reviewed reports stay closed: the same people cannot hide it again
        await member.call("POST", f"/v1/works/{work['id']}/reports", 202, json={"reason": "spam"})
    assert (await artist.call("GET", f"/v1/works/{work['id']}", 200))["hidden"] is False


async def test_a_moderator_removes_a_work(http: aiohttp.ClientSession, moderator: Member) -> None:
    artist, work, _, reporters = await _hidden_work(http)
    decided = await moderator.call("POST", f"/v1/works/{work['id']}/moderation", 200, json={"decision": "remove"})
    assert decided == {"work_id": work["id"], "decision": "remove"}
    await artist.call("GET", f"/v1/works/{work['id']}", 404)
    await reporters[0].call("GET", f"/v1/works/{work['id']}", 404)
    assert await _queue_entry(moderator, work["id"]) is None
    await moderator.call("POST", f"/v1/works/{work['id']}/moderation", 404, json={"decision": "restore"})


async def test_only_moderators_review_and_bad_decisions_are_refused(http: aiohttp.ClientSession,
                                                                    moderator: Member) -> None:
    artist, work, _, reporters = await _hidden_work(http)
    for member in (artist, reporters[0]):
        problem = await member.call("GET", "/v1/moderation/queue", 403)
        assert problem["status"] == 403 and "moderator" in problem["detail"]
        await member.call("POST", f"/v1/works/{work['id']}/moderation", 403, json={"decision": "restore"})
    await artist.call("GET", "/v1/moderation/queue", 401, headers={})
    path = f"/v1/works/{work['id']}/moderation"
    for body in ({"decision": "approve"}, {}, {"decision": "remove", "surprise": 1}, {"decision": "restore",
                                                                                      "note": "x" * 1001}):
        problem = await moderator.call("POST", path, 422, json=body)
        assert problem["status"] == 422
    await moderator.call("POST", path, 400, data=b"{not json", headers={**moderator.headers,
                                                                         "Content-Type": "application/json"})
    await moderator.call("POST", "/v1/works/not-a-work/moderation", 404, json={"decision": "remove"})
    await moderator.call("GET", "/v1/moderation/queue", 400, params={"cursor": "forged.cursor"})
    assert (await artist.call("GET", f"/v1/works/{work['id']}", 200))["hidden"] is True  # nothing changed
