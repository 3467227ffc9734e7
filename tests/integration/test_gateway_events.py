"""`GET /v1/events` against real JetStream: resume without gaps or duplicates, visibility between
users, bad frames, slow clients. The gateway runs in-process; traffic is published straight to the
event streams with the shared helpers; the feed test also uses the real community service."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import jwt
import pytest

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from shared.contracts import community
from shared.contracts.events import make_event
from shared.contracts.events.catalog import (
    GenerationCompleted,
    GenerationOutput,
    TrainingProgress,
    WorkLiked,
    WorkPublished,
)
from shared.ids import new_id
from shared.messaging.connection import connect as connect_nats
from shared.messaging.publisher import publish_event
from shared.messaging.rpc import call_raw
from shared.messaging.streams import ensure_streams

RECEIVE_TIMEOUT_S = 10.0


def token_for(endpoints: Any, user_id: str, ttl_s: int = 600) -> str:
    now = int(time.time())
    key = endpoints.jwt_private_key_file.read_text()
    claims = {"sub": user_id, "username": f"u{user_id[-6:].lower()}", "iat": now, "exp": now + ttl_s, "iss": "atelier"}
    return jwt.encode(claims, key, algorithm="EdDSA")


def settings_for(endpoints: Any, *, nats_url: str | None = None, **overrides: Any) -> GatewaySettings:
    return GatewaySettings(nats_url=nats_url or endpoints.nats_url, jwt_public_key_file=endpoints.jwt_public_key_file,
                           idempotency_backend="memory", **overrides)


@pytest.fixture
async def gateway(endpoints: Any, aiohttp_client: Any) -> Any:
    return await aiohttp_client(await create_app(settings_for(endpoints)))


async def publish(js: Any, payload: Any, subject_id: str) -> str:
    event = make_event(payload, service="tests", subject_id=subject_id)
    await publish_event(js, event, timeout=5)
    return event.id


def work(author: str, *, title: str = "w", visibility: str = "public") -> WorkPublished:
    return WorkPublished(work_id=new_id(), author_id=author, title=title, origin="human", tags=["t"],
                         asset_ids=[new_id()], visibility=visibility)  # type: ignore[arg-type]


def progress(owner: str, step: int) -> TrainingProgress:
    return TrainingProgress(model_id=new_id(), owner_id=owner, version=1, step=step, total_steps=100,
                            losses={"g": 1.0})


async def connect(client: Any, token: str, channels: list[str], since: str | None = None) -> Any:
    ws = await client.ws_connect("/v1/events", headers={"Authorization": f"Bearer {token}"})
    frame: dict[str, Any] = {"subscribe": channels}
    if since is not None:
        frame["since"] = since
    await ws.send_json(frame)
    return ws


async def receive(ws: Any, until: Any, mine: Any = lambda doc: True) -> tuple[list[dict[str, Any]], str | None]:
    """Collect events for which `mine(doc)` holds until `until(events)`; returns (events, last cursor)."""
    events: list[dict[str, Any]] = []
    cursor = None
    deadline = time.monotonic() + RECEIVE_TIMEOUT_S
    while not until(events):
        msg = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
        assert msg.type == aiohttp.WSMsgType.TEXT, f"connection ended: {msg}"
        doc = json.loads(msg.data)
        if "subscribed" in doc:
            cursor = doc["sequence"]
        elif "specversion" in doc:
            cursor = doc["sequence"]
            if mine(doc):
                events.append(doc)
        else:
            assert "notice" in doc, doc
    return events, cursor


async def wait_subscribed(ws: Any) -> tuple[str, list[dict[str, Any]]]:
    """Read until the `subscribed` frame; returns its cursor and the events replayed before it."""
    replayed = []
    while True:
        msg = await ws.receive(timeout=RECEIVE_TIMEOUT_S)
        assert msg.type == aiohttp.WSMsgType.TEXT, f"connection ended: {msg}"
        doc = json.loads(msg.data)
        if "subscribed" in doc:
            return doc["sequence"], replayed
        if "specversion" in doc:
            replayed.append(doc)


async def test_resume_with_since_after_forced_disconnect_loses_and_duplicates_nothing(gateway, js, endpoints):
    me, artist = new_id(), new_id()
    token = token_for(endpoints, me)
    ours = {me, artist}

    def mine(doc: dict[str, Any]) -> bool:
        return bool({doc["data"].get("owner_id"), doc["data"].get("author_id")} & ours)

    ws = await connect(gateway, token, ["me", "public"])
    await wait_subscribed(ws)
    sent: list[str] = []
    for i in range(8):  # interleave two streams
        payload = work(artist, title=f"before {i}") if i % 2 else progress(me, i)
        sent.append(await publish(js, payload, new_id()))
    first, cursor = await receive(ws, lambda evs: len(evs) == 3, mine)
    cursor = first[-1]["sequence"]
    await ws.close()  # the client goes away having seen only 3 of 8

    for i in range(5):
        payload = work(artist, title=f"offline {i}") if i % 2 else progress(me, 100 + i)
        sent.append(await publish(js, payload, new_id()))
    ws = await connect(gateway, token, ["me", "public"], since=cursor)
    _, replayed = await wait_subscribed(ws)
    for i in range(3):
        sent.append(await publish(js, work(artist, title=f"live {i}"), new_id()))
    live, _ = await receive(ws, lambda evs: len([e for e in replayed if mine(e)]) + len(evs) >= 13, mine)
    await ws.close()

    received = first + [e for e in replayed if mine(e)] + live
    ids = [e["id"] for e in received]
    assert len(ids) == len(set(ids)), "an event was delivered twice"
    assert set(ids) == set(sent), "an event was lost"
    # Each stream arrives in publish order (streams are independent of one another).
    for kind in ("atelier.community.work.published", "atelier.trainer.training.progress"):
        assert [e["id"] for e in received if e["type"] == kind] == [
            i for i in sent if i in {e["id"] for e in received if e["type"] == kind}]


async def test_another_users_private_events_never_arrive(gateway, js, endpoints):
    alice, bob, carol = new_id(), new_id(), new_id()
    ws_bob = await connect(gateway, token_for(endpoints, bob), ["me", "feed", "public"])
    ws_alice = await connect(gateway, token_for(endpoints, alice), ["me"])
    await wait_subscribed(ws_bob)
    await wait_subscribed(ws_alice)

    alice_work = work(alice, title="alice public")
    await publish(js, progress(alice, 1), new_id())
    await publish(js, GenerationCompleted(generation_id=new_id(), owner_id=alice, model_id=new_id(), version=1,
                                          outputs=[GenerationOutput(index=0, asset_id=new_id(), seed=1)]), new_id())
    await publish(js, work(alice, title="alice unlisted", visibility="unlisted"), new_id())
    await publish(js, WorkLiked(work_id=alice_work.work_id, user_id=carol, author_id=alice), alice_work.work_id)
    await publish(js, alice_work, alice_work.work_id)

    def about_alice(doc: dict[str, Any]) -> bool:
        return alice in json.dumps(doc["data"])

    bob_got, _ = await receive(ws_bob, lambda evs: any(e["data"].get("title") == "alice public" for e in evs),
                               about_alice)
    alice_got, _ = await receive(ws_alice, lambda evs: len(evs) == 5, about_alice)
    await ws_bob.close()
    await ws_alice.close()

    assert [e["type"] for e in bob_got] == ["atelier.community.work.published"]
    assert bob_got[0]["channel"] == "public"
    assert sorted(e["type"].removeprefix("atelier.") for e in alice_got) == sorted([
        "trainer.training.progress", "inference.generation.completed", "community.work.published",
        "community.work.liked", "community.work.published"])
    assert {e["channel"] for e in alice_got} == {"me"}


async def _account(nc: Any) -> tuple[str, str]:
    """A real community account; returns (user id, username)."""
    name = f"live_{new_id().lower()[-10:]}"
    reply = json.loads(await call_raw(
        nc, community.AUTH_SIGNUP,
        {"username": name, "email": f"{name}@example.com", "password": "correct horse battery"}, timeout=10))
    return reply["user"]["id"], name


async def _follow(nc: Any, js: Any, reader: str, username: str, followee: str, *, on: bool = True) -> None:
    """Follow through community, then wait until its event is on the stream (it goes out via the
    outbox), so a work published next is ordered after it."""
    await call_raw(nc, community.USERS_FOLLOW if on else community.USERS_UNFOLLOW, {"username": username},
                   timeout=10, actor_id=reader)
    subject = "community.user.followed" if on else "community.user.unfollowed"
    deadline = time.monotonic() + RECEIVE_TIMEOUT_S
    while True:
        try:
            data = json.loads((await js.get_last_msg("COMMUNITY", subject)).data)["data"]
            if data["follower_id"] == reader and data["followee_id"] == followee:
                return
        except Exception:  # not on the stream yet
            pass
        assert time.monotonic() < deadline, f"{subject} never reached the stream"
        await asyncio.sleep(0.05)


async def test_feed_has_followed_artists_only(gateway, js, endpoints, nc, platform):
    """Community (real, from the platform) says whom the reader follows when the socket subscribes;
    follow and unfollow events then widen and narrow the feed while it is open."""
    (reader, _), (followed, followed_name), (other, other_name) = [await _account(nc) for _ in range(3)]
    await _follow(nc, js, reader, followed_name, followed)
    ws = await connect(gateway, token_for(endpoints, reader), ["feed"])
    await wait_subscribed(ws)
    await publish(js, work(other, title="not followed"), new_id())
    await publish(js, work(followed, title="followed"), new_id())
    await publish(js, work(followed, title="followed unlisted", visibility="unlisted"), new_id())
    await _follow(nc, js, reader, other_name, other)
    await publish(js, work(other, title="now followed"), new_id())
    await _follow(nc, js, reader, other_name, other, on=False)
    await publish(js, work(other, title="unfollowed again"), new_id())
    await publish(js, work(followed, title="still followed"), new_id())
    got, _ = await receive(ws, lambda evs: len(evs) == 3,
                           lambda doc: doc["data"].get("author_id") in (followed, other))
    await ws.close()
    assert [e["data"]["title"] for e in got] == ["followed", "now followed", "still followed"]
    assert {e["channel"] for e in got} == {"feed"}


async def test_bad_frames_get_error_frames_and_the_connection_survives(gateway, endpoints):
    ws = await gateway.ws_connect("/v1/events", headers={"Authorization": f"Bearer {token_for(endpoints, new_id())}"})
    expectations = [
        ("not json", "bad-json"), ("[1, 2]", "bad-frame"), ('{"hello": 1}', "unknown-frame"),
        ('{"subscribe": ["everything"]}', "unknown-channel"), ('{"subscribe": []}', "bad-subscription"),
        ('{"subscribe": ["public"], "since": "NOPE=1"}', "bad-since"),
    ]
    for text, code in expectations:
        await ws.send_str(text)
        doc = await ws.receive_json(timeout=RECEIVE_TIMEOUT_S)
        assert doc["error"]["code"] == code, (text, doc)
    await ws.send_bytes(b"\x00\x01")
    assert (await ws.receive_json(timeout=RECEIVE_TIMEOUT_S))["error"]["code"] == "bad-frame"
    await ws.send_json({"ping": 7})
    assert await ws.receive_json(timeout=RECEIVE_TIMEOUT_S) == {"pong": 7}
    await ws.send_json({"subscribe": ["public"]})
    assert "subscribed" in await ws.receive_json(timeout=RECEIVE_TIMEOUT_S)
    await ws.send_json({"subscribe": ["me"]})
    assert (await ws.receive_json(timeout=RECEIVE_TIMEOUT_S))["error"]["code"] == "already-subscribed"
    await ws.close()


async def test_token_from_query_or_subprotocol_and_missing_token_is_401(gateway, endpoints):
    token = token_for(endpoints, new_id())
    resp = await gateway.get("/v1/events")
    assert resp.status == 401 and resp.content_type == "application/problem+json"
    ws = await gateway.ws_connect("/v1/events", protocols=("atelier.v1", f"bearer.{token}"))
    assert ws.protocol == "atelier.v1"
    await ws.send_json({"subscribe": ["me"]})
    assert "subscribed" in await ws.receive_json(timeout=RECEIVE_TIMEOUT_S)
    await ws.close()
    ws = await gateway.ws_connect(f"/v1/events?token={token}")
    await ws.send_json({"ping": 1})
    assert await ws.receive_json(timeout=RECEIVE_TIMEOUT_S) == {"pong": 1}
    await ws.close()
    resp = await gateway.get("/v1/events?token=garbage")
    assert resp.status == 401


@pytest.fixture
async def own_js(own_nats: Any) -> Any:
    """JetStream on the test's own NATS server (`own_nats`)."""
    nc = await connect_nats(own_nats.url, name="atelier-tests-own")
    try:
        js = nc.jetstream(timeout=5.0)
        await ensure_streams(js)
        yield js
    finally:
        await nc.close()


async def test_slow_client_is_closed_with_4008_and_bounded_queue(own_nats, own_js, endpoints, aiohttp_client):
    """Floods the public channel with up to 1000 events of 60 KB, on a NATS server of its own (its
    gateway closes before that server stops) so the session's gateway and consumers never churn
    through them while later tests run."""
    js = own_js
    client = await aiohttp_client(await create_app(settings_for(endpoints, nats_url=own_nats.url,
                                                                ws_send_queue_max=16)))
    artist = new_id()
    ws = await connect(client, token_for(endpoints, new_id()), ["public"])
    await wait_subscribed(ws)
    ws._response.connection.transport.pause_reading()  # a client that stops reading
    big_title = "x" * 60_000
    for _ in range(40):
        await asyncio.gather(*(publish(js, work(artist, title=big_title), new_id()) for _ in range(25)))
        await asyncio.sleep(0.05)
        if ws._response.connection is None:
            break
    if ws._response.connection is not None:
        ws._response.connection.transport.resume_reading()
    codes = []
    while True:
        msg = await ws.receive(timeout=RECEIVE_TIMEOUT_S)
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
            codes.append(ws.close_code)
            break
        assert msg.type == aiohttp.WSMsgType.TEXT
    assert codes == [4008]
    assert "too slow" in (msg.extra or "")


async def test_shutdown_closes_connections_with_1001(endpoints, aiohttp_client):
    client = await aiohttp_client(await create_app(settings_for(endpoints)))
    ws = await connect(client, token_for(endpoints, new_id()), ["me"])
    await wait_subscribed(ws)
    closing = asyncio.create_task(client.server.close())  # what SIGTERM does to the app
    msg = await ws.receive(timeout=RECEIVE_TIMEOUT_S)
    await closing
    assert msg.type == aiohttp.WSMsgType.CLOSE
    assert ws.close_code == 1001 and "shutting down" in (msg.extra or "")
