"""Webhooks through the gateway, delivered to a real local receiver by the webhooks service.

The session platform runs with `ATELIER_WEBHOOKS_ALLOW_INSECURE=true` (http and loopback allowed,
private and metadata addresses still refused), a 0.5 s retry schedule of 4 retries and a 2 s
attempt timeout (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import statistics
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from nats.js.errors import NotFoundError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from shared.contracts.events import make_event
from shared.contracts.events.catalog import WorkLiked
from shared.ids import new_id
from shared.messaging.publisher import publish_event
from tests.e2e.test_inference_generations import generate, trained_model
from tests.support.members import PASSWORD, Member, sign_up
from tests.support.webhook_receiver import Behaviour, Received, Receiver

LIKED = "community.work.liked"
COMPLETED = "inference.generation.completed"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    try:
        yield server
    finally:
        await server.stop()


async def register(member: Member, url: str, types: list[str], expect: int = 201) -> dict[str, Any]:
    return await member.call("POST", "/v1/webhooks", expect,  # type: ignore[no-any-return]
                             json={"url": url, "event_types": types, "description": "test"})


def event_of(request: Received) -> dict[str, Any]:
    return json.loads(request.body)  # type: ignore[no-any-return]


def verified(secret: str, request: Received) -> dict[str, Any]:
    return Webhook(secret).verify(request.body, request.headers)  # type: ignore[no-any-return]


def events(requests: list[Received], kind: str) -> list[dict[str, Any]]:
    return [e for e in map(event_of, requests) if e["type"] == f"atelier.{kind}"]


async def test_bad_input_answers_clear_4xx_problems(http: aiohttp.ClientSession, receiver: Receiver) -> None:
    owner, other = await sign_up(http, "wh_"), await sign_up(http, "wh_")
    cases = [
        ({"url": receiver.url("a"), "event_types": ["community.work.exploded"]}, "event_types"),
        ({"url": receiver.url("a"), "event_types": ["jobs.train"]}, "event_types"),  # not an event anyone sees
        ({"url": receiver.url("a"), "event_types": []}, "event_types"),
        ({"url": "ftp://127.0.0.1/hook", "event_types": [LIKED]}, "url"),
        ({"url": "javascript:alert(1)", "event_types": [LIKED]}, "url"),
        ({"url": "http://user:pw@127.0.0.1/hook", "event_types": [LIKED]}, "url"),
        ({"url": "http://10.1.2.3/hook", "event_types": [LIKED]}, "url"),  # private
        ({"url": "http://192.168.0.10:8080/hook", "event_types": [LIKED]}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data", "event_types": [LIKED]}, "url"),  # metadata
        ({"url": "http://[fe80::1]/hook", "event_types": [LIKED]}, "url"),  # link-local
        ({"url": "http://[::ffff:10.0.0.1]/hook", "event_types": [LIKED]}, "url"),  # v4-mapped private
        ({"url": "http://0.0.0.0/hook", "event_types": [LIKED]}, "url"),
        ({"url": "http://no-such-host.invalid/hook", "event_types": [LIKED]}, "url"),
        ({"url": receiver.url("a"), "event_types": [LIKED], "secret": "mine"}, "secret"),
    ]
    for body, field in cases:
        async with http.post("/v1/webhooks", json=body, headers=owner.headers) as resp:
            assert resp.status == 422, (body, resp.status, await resp.text())
            assert resp.content_type == "application/problem+json"
            problem = await resp.json()
            assert field in json.dumps(problem), (body, problem)
    async with http.post("/v1/webhooks", json={"url": receiver.url("a"), "event_types": [LIKED]}) as resp:
        assert resp.status == 401
    listing = await owner.call("GET", "/v1/webhooks", 200)
    assert listing["items"] == []  # nothing half-written

    mine = await register(owner, receiver.url("mine"), [LIKED])
    assert mine["secret"].startswith("whsec_") and mine["status"] == "enabled"
    assert "secret" not in await owner.call("GET", f"/v1/webhooks/{mine['id']}", 200)  # shown once
    for method, path in [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/rotate-secret"),
                         ("POST", "/test"), ("GET", "/deliveries")]:
        kwargs: dict[str, Any] = {"json": {"description": "x"}} if method == "PATCH" else {}
        async with http.request(method, f"/v1/webhooks/{mine['id']}{path}", headers=other.headers, **kwargs) as resp:
            assert resp.status == 404, (method, path, await resp.text())
            assert resp.content_type == "application/problem+json"
    async with http.post(f"/v1/webhooks/{mine['id']}/deliveries/01ARZ3NDEKTSV4RRFFQ69G5FAV/retry",
                         headers=owner.headers) as resp:
        assert resp.status == 404
    async with http.patch(f"/v1/webhooks/{mine['id']}", json={"url": "http://10.0.0.7/"}, headers=owner.headers) as r:
        assert r.status == 422
    async with http.patch(f"/v1/webhooks/{mine['id']}", json={"event_types": None}, headers=owner.headers) as r:
        assert r.status == 422
    async with http.get("/v1/webhooks?limit=1000", headers=owner.headers) as resp:
        assert resp.status == 422
    assert (await owner.call("GET", f"/v1/webhooks/{mine['id']}", 200))["url"] == receiver.url("mine")


async def test_the_endpoint_limit_per_user_is_a_429_naming_it(http: aiohttp.ClientSession, receiver: Receiver) -> None:
    owner = await sign_up(http, "wh_")
    created = [await register(owner, receiver.url(f"n{i}"), [LIKED]) for i in range(10)]
    async with http.post("/v1/webhooks", json={"url": receiver.url("x"), "event_types": [LIKED]},
                         headers=owner.headers) as resp:
        assert resp.status == 429 and resp.headers["Retry-After"] == "60"
        problem = await resp.json()
        assert problem["limit"] == 10 and problem["quota"] == "webhook_endpoints"
    await owner.call("DELETE", f"/v1/webhooks/{created[0]['id']}", 204)
    await register(owner, receiver.url("x"), [LIKED])
    first = await owner.call("GET", "/v1/webhooks?limit=6", 200)
    second = await owner.call("GET", f"/v1/webhooks?limit=6&cursor={first['next_cursor']}", 200)
    assert len(first["items"]) == 6 and len(second["items"]) == 4 and second["next_cursor"] is None
    assert not {e["id"] for e in first["items"]} & {e["id"] for e in second["items"]}


async def test_a_generation_and_a_like_arrive_signed_and_nobody_elses_private_events(
        http: aiohttp.ClientSession, receiver: Receiver, endpoints: Any, js: Any) -> None:
    artist, fan, stranger = [await sign_up(http, "wh_") for _ in range(3)]
    hook = await register(artist, receiver.url("artist"), [COMPLETED, LIKED])
    stranger_hook = await register(stranger, receiver.url("stranger"), [COMPLETED, LIKED])

    work = await artist.publish("liked by a fan", visibility="public")
    stranger_work = await stranger.publish("stranger's", visibility="public")
    await fan.call("PUT", f"/v1/works/{work['id']}/like", 204)
    await fan.call("PUT", f"/v1/works/{stranger_work['id']}/like", 204)  # the stranger's notification
    user = {"id": artist.id, "headers": artist.headers}
    model_id = await trained_model(endpoints, js, artist.id)
    generation = await generate(http, user, {"model_id": model_id, "count": 1, "seed": 7, "mode": "sample"})
    assert generation["status"] == "succeeded", generation
    stranger_user = {"id": stranger.id, "headers": stranger.headers}
    stranger_model = await trained_model(endpoints, js, stranger.id, seed=2)
    theirs = await generate(http, stranger_user, {"model_id": stranger_model, "count": 1, "seed": 1})
    assert theirs["status"] == "succeeded", theirs

    got = await receiver.wait_for("artist", lambda rs: events(rs, COMPLETED) and events(rs, LIKED))
    # The stranger's own endpoint got the stranger's events, so both were fanned out already.
    await receiver.wait_for("stranger", lambda rs: events(rs, COMPLETED) and events(rs, LIKED))
    await asyncio.sleep(1.0)
    got = receiver.received["artist"]
    for request in got:
        verified(hook["secret"], request)  # raises unless signed with the endpoint's secret
        with pytest.raises(WebhookVerificationError):
            verified(stranger_hook["secret"], request)
        assert request.headers["Content-Type"].startswith("application/cloudevents+json")
    [completed] = events(got, COMPLETED)
    [liked] = events(got, LIKED)
    assert completed["specversion"] == "1.0" and completed["source"] == "atelier/inference"
    assert completed["data"]["generation_id"] == generation["id"]
    assert completed["data"]["owner_id"] == artist.id
    assert liked["data"] == {"work_id": work["id"], "user_id": fan.id, "author_id": artist.id}
    assert len(got) == 2, [event_of(r)["type"] for r in got]  # nothing of the stranger's

    deliveries = await artist.call("GET", f"/v1/webhooks/{hook['id']}/deliveries", 200)
    assert {d["event_type"] for d in deliveries["items"]} == {COMPLETED, LIKED}
    for d in deliveries["items"]:
        assert d["status"] == "succeeded" and d["attempts"] == 1 and d["response_status"] == 200
        assert d["latency_ms"] > 0 and d["id"] in {r.headers["webhook-id"] for r in got}


async def test_three_500s_then_200_delivers_on_the_fourth_attempt_with_one_webhook_id(
        http: aiohttp.ClientSession, receiver: Receiver) -> None:
    owner = await sign_up(http, "wh_")
    receiver.behaviour["flaky"] = Behaviour(statuses=[500, 500, 500], then=200)
    hook = await register(owner, receiver.url("flaky"), [LIKED])
    sent = await owner.call("POST", f"/v1/webhooks/{hook['id']}/test", 202)
    assert sent["status"] == "pending" and sent["event_type"] == "webhooks.endpoint.test"
    requests = await receiver.wait_for("flaky", lambda rs: len(rs) >= 4)
    assert {r.headers["webhook-id"] for r in requests} == {sent["id"]}
    assert len({r.body for r in requests}) == 1
    for request in requests:
        verified(hook["secret"], request)
    gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
    assert all(gap >= 0.3 for gap in gaps), gaps  # backoff (0.5 s ± 20 %), not a tight loop

    async def settled() -> dict[str, Any]:
        while True:
            listing = await owner.call("GET", f"/v1/webhooks/{hook['id']}/deliveries?status=succeeded", 200)
            if listing["items"]:
                return listing["items"][0]  # type: ignore[no-any-return]
            await asyncio.sleep(0.1)

    delivery = await asyncio.wait_for(settled(), 10)
    assert delivery["id"] == sent["id"] and delivery["attempts"] == 4 and delivery["response_status"] == 200
    await asyncio.sleep(1.0)
    assert len(receiver.received["flaky"]) == 4  # delivered: no more attempts

    again = await owner.call("POST", f"/v1/webhooks/{hook['id']}/deliveries/{sent['id']}/retry", 202)
    assert again["status"] == "pending"
    requests = await receiver.wait_for("flaky", lambda rs: len(rs) >= 5)
    assert requests[-1].headers["webhook-id"] == sent["id"]


async def test_a_rotated_secret_keeps_deliveries_verifiable(http: aiohttp.ClientSession, receiver: Receiver) -> None:
    owner = await sign_up(http, "wh_")
    hook = await register(owner, receiver.url("rotating"), [LIKED])
    rotated = await owner.call("POST", f"/v1/webhooks/{hook['id']}/rotate-secret", 200)
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != hook["secret"]
    assert rotated["previous_secret_expires_at"] is not None
    await owner.call("POST", f"/v1/webhooks/{hook['id']}/test", 202)
    [request] = await receiver.wait_for("rotating", lambda rs: len(rs) >= 1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    verified(rotated["secret"], request)  # receivers already on the new secret
    verified(hook["secret"], request)  # and those not yet switched
    with pytest.raises(WebhookVerificationError):
        verified("whsec_" + "A" * 43 + "=", request)


async def test_a_dead_endpoint_does_not_delay_a_healthy_one_and_is_disabled_with_an_event(
        http: aiohttp.ClientSession, receiver: Receiver) -> None:
    artist, fan = await sign_up(http, "wh_"), await sign_up(http, "wh_")
    receiver.behaviour["dead"] = Behaviour(delay_s=30.0)  # never answers within the 2 s timeout
    dead = await register(artist, receiver.url("dead"), [LIKED])
    healthy = await register(artist, receiver.url("healthy"), [LIKED, "webhooks.endpoint.disabled"])
    works = [await artist.publish(f"w{i}", visibility="public") for i in range(12)]
    for work in works:
        await fan.call("PUT", f"/v1/works/{work['id']}/like", 204)
    got = await receiver.wait_for("healthy", lambda rs: len(events(rs, LIKED)) >= len(works))
    latencies = []
    for request in got:
        event = event_of(request)
        if event["type"] == f"atelier.{LIKED}":
            published = datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()
            latencies.append(request.at - published)
    p50, worst = statistics.median(latencies), max(latencies)
    print(f"\nhealthy endpoint beside a dead one: {len(latencies)} likes, publish→receipt "
          f"p50 {p50 * 1000:.0f} ms, max {worst * 1000:.0f} ms")
    # Each attempt at the dead endpoint takes its full 2 s timeout, 4 at a time: were the healthy
    # one waiting behind them, 12 likes would need several seconds.
    assert worst < 1.5, latencies

    disabled = await receiver.wait_for("healthy", lambda rs: events(rs, "webhooks.endpoint.disabled"), 60)
    [notice] = events(disabled, "webhooks.endpoint.disabled")
    assert notice["data"]["endpoint_id"] == dead["id"] and notice["data"]["owner_id"] == artist.id
    state = await artist.call("GET", f"/v1/webhooks/{dead['id']}", 200)
    assert state["status"] == "disabled" and "attempts" in state["disabled_reason"]
    failed = await artist.call("GET", f"/v1/webhooks/{dead['id']}/deliveries?status=failed", 200)
    assert failed["items"] and failed["items"][0]["attempts"] == 5
    assert "timed out" in failed["items"][0]["error"]
    assert (await artist.call("GET", f"/v1/webhooks/{healthy['id']}", 200))["status"] == "enabled"
    async with http.post(f"/v1/webhooks/{dead['id']}/deliveries/{failed['items'][0]['id']}/retry",
                         headers=artist.headers) as resp:
        assert resp.status == 409  # disabled: enable it first
    enabled = await artist.call("PATCH", f"/v1/webhooks/{dead['id']}", 200, json={"enabled": True})
    assert enabled["status"] == "enabled" and enabled["disabled_reason"] is None
    await artist.call("DELETE", f"/v1/webhooks/{dead['id']}", 204)
    await artist.call("DELETE", f"/v1/webhooks/{healthy['id']}", 204)


async def test_the_gateway_serves_the_asyncapi_document_and_its_page(http: aiohttp.ClientSession) -> None:
    async with http.get("/v1/asyncapi.json") as resp:
        assert resp.status == 200 and resp.content_type == "application/json"
        doc = await resp.json()
    assert doc["asyncapi"] == "3.0.0"
    assert {c["address"] for c in doc["channels"].values()} >= {LIKED, COMPLETED, "/v1/events", "{endpointUrl}"}
    async with http.get("/docs/events") as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        assert f"<code>{COMPLETED}</code>" in await resp.text()
    async with http.get("/docs") as resp:
        assert 'href="/docs/events"' in await resp.text()


async def test_a_replay_sends_every_delivery_since_a_time_again(http: aiohttp.ClientSession,
                                                               receiver: Receiver) -> None:
    owner, other = await sign_up(http, "wh_"), await sign_up(http, "wh_")
    hook = await register(owner, receiver.url("replayed"), [LIKED])
    first = await owner.call("POST", f"/v1/webhooks/{hook['id']}/test", 202)
    await receiver.wait_for("replayed", lambda rs: len(rs) >= 1)
    since = datetime.now(UTC).isoformat()
    await asyncio.sleep(0.05)
    second = await owner.call("POST", f"/v1/webhooks/{hook['id']}/test", 202)
    await receiver.wait_for("replayed", lambda rs: len(rs) >= 2)
    for _ in range(50):  # both settled (a pending delivery keeps its own schedule)
        listing = await owner.call("GET", f"/v1/webhooks/{hook['id']}/deliveries?status=succeeded", 200)
        if len(listing["items"]) == 2:
            break
        await asyncio.sleep(0.1)
    replayed = await owner.call("POST", f"/v1/webhooks/{hook['id']}/replay", 202, json={"since": since})
    assert replayed["replayed"] == 1
    requests = await receiver.wait_for("replayed", lambda rs: len(rs) >= 3)
    assert [r.headers["webhook-id"] for r in requests] == [first["id"], second["id"], second["id"]]
    everything = await owner.call("POST", f"/v1/webhooks/{hook['id']}/replay", 202,
                                  json={"since": "2020-01-01T00:00:00Z"})
    assert everything["replayed"] in (1, 2)  # the one replayed just now may still be in flight
    for body in ({"since": "yesterday"}, {"since": "2026-01-01T00:00:00"}, {}):  # not a time with an offset
        async with http.post(f"/v1/webhooks/{hook['id']}/replay", json=body, headers=owner.headers) as resp:
            assert resp.status == 422, body
    async with http.post(f"/v1/webhooks/{hook['id']}/replay", json={"since": since}, headers=other.headers) as r:
        assert r.status == 404


async def test_a_deleted_account_has_no_endpoints_left(http: aiohttp.ClientSession, receiver: Receiver,
                                                       js: Any) -> None:
    leaving, staying = await sign_up(http, "wh_"), await sign_up(http, "wh_")
    await register(leaving, receiver.url("leaving"), [LIKED])
    await register(staying, receiver.url("staying"), [LIKED])
    await leaving.call("DELETE", "/v1/me", 204, json={"password": PASSWORD})
    for _ in range(100):  # community's outbox relay publishes community.user.deleted just after the 204
        with contextlib.suppress(NotFoundError):  # none published yet in this session
            last = await js.get_last_msg("COMMUNITY", "community.user.deleted")
            if json.loads(last.data)["data"]["user_id"] == leaving.id:
                break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("community.user.deleted was never published")
    # In stream order after community.user.deleted: a like for each (published as community would).
    for author in (leaving.id, staying.id):
        event = make_event(WorkLiked(work_id=new_id(), user_id=new_id(), author_id=author), service="community",
                           subject_id=new_id())
        await publish_event(js, event, timeout=5)
    await receiver.wait_for("staying", lambda rs: len(rs) >= 1)
    await asyncio.sleep(0.5)
    assert receiver.received["leaving"] == []
