"""An external JetStream subscriber sees `community.work.published` exactly once per published work,
also when NATS restarts in the middle (events then wait in the outbox and go out afterwards).

The community app runs in-process against its own NATS server (so it can be restarted without
disturbing the session's platform) and its own database (so no other relay drains its outbox).
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from demo.art import png_bytes, render
from services.assets.app import create_app as create_assets_app
from services.assets.settings import AssetsSettings
from services.community import works
from services.community.app import DEPS, create_app
from services.community.settings import CommunitySettings
from shared.contracts import assets as asset_ops
from shared.contracts import community as c
from shared.contracts.community import WorkPatch
from shared.messaging.connection import connect
from shared.messaging.rpc import call, call_raw
from tests.support.nats import RestartableNats

SUBJECT = "community.work.published"


@pytest.fixture
async def assets(own_nats: RestartableNats, own_database: str, endpoints: Any) -> AsyncIterator[web.Application]:
    """The real assets service on the same private NATS: community checks asset ownership with it."""
    settings = AssetsSettings(
        nats_url=own_nats.url, database_url=own_database, s3_endpoint=endpoints.s3_endpoint,
        s3_access_key=endpoints.s3_access_key, s3_secret_key=endpoints.s3_secret_key, s3_bucket=endpoints.s3_bucket,
    )
    runner = web.AppRunner(await create_assets_app(settings))
    await runner.setup()
    try:
        yield runner.app
    finally:
        await runner.cleanup()


@pytest.fixture
async def community(own_nats: RestartableNats, own_database: str, endpoints: Any) -> AsyncIterator[web.Application]:
    settings = CommunitySettings(
        nats_url=own_nats.url, database_url=own_database, jwt_private_key_file=endpoints.jwt_private_key_file,
        argon2_time_cost=1, argon2_memory_kib=8 * 1024, argon2_parallelism=1, publish_timeout_s=1.0,
    )
    runner = web.AppRunner(await create_app(settings))
    await runner.setup()  # runs the cleanup contexts: migrations, NATS, outbox relay, RPC endpoints
    try:
        yield runner.app
    finally:
        await runner.cleanup()


async def test_published_events_arrive_exactly_once_across_a_nats_restart(
    own_nats: RestartableNats, assets: web.Application, community: web.Application
) -> None:
    client = await connect(own_nats.url, name="external-subscriber")
    js = client.jetstream(timeout=5.0)
    sub = await js.pull_subscribe(SUBJECT, durable="external-gallery", stream="COMMUNITY", config=ConsumerConfig(
        ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL, ack_wait=5))
    signup = {"username": "ev_" + secrets.token_hex(5), "password": "correct horse battery"}
    user = json.loads(await call_raw(client, c.AUTH_SIGNUP, {**signup, "email": f"{signup['username']}@example.com"},
                                     timeout=10))
    actor = user["user"]["id"]

    async def store_image(seed: int) -> str:
        data = base64.b64encode(png_bytes(render("dots", seed, 64))).decode()
        stored = await call(client, asset_ops.STORE, {"owner_id": actor, "kind": "sample",
                                                   "content_type": "image/png", "data_b64": data}, timeout=10)
        return stored.id

    async def publish(title: str, visibility: str = "public") -> dict[str, Any]:
        body = {"title": title, "asset_ids": [await store_image(len(title))], "visibility": visibility}
        work: dict[str, Any] = json.loads(await call_raw(client, c.WORKS_CREATE, body, timeout=10, actor_id=actor))
        return work

    expected = [(await publish(f"before {i}", v))["id"] for i, v in enumerate(["public", "unlisted", "public"])]
    private = await publish("draft", "private")
    await call_raw(client, c.WORKS_UPDATE, {"id": expected[0], "title": "renamed"},
                   timeout=10, actor_id=actor)  # an edit is an update, not a second publication
    await call_raw(client, c.WORKS_UPDATE, {"id": private["id"], "visibility": "public"},
                   timeout=10, actor_id=actor)  # first time visible: published now
    expected.append(private["id"])
    drafts = [(await publish(f"draft {i}", "private"))["id"] for i in range(3)]
    await asyncio.sleep(0.5)

    own_nats.stop()
    for draft in drafts:  # made public while NATS is down (no RPC needed): the outbox keeps the events
        await works.update(community[DEPS], actor, draft, WorkPatch(visibility="public"))
        expected.append(draft)
    await asyncio.sleep(1.5)  # the relay tries, fails and backs off
    own_nats.start()

    for _ in range(100):  # both clients reconnect on their own
        if client.is_connected:
            break
        await asyncio.sleep(0.1)
    expected += [(await publish(f"after {i}"))["id"] for i in range(2)]

    seen: Counter[str] = Counter()
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline and set(seen) != set(expected):
        try:
            msgs = await sub.fetch(50, timeout=1.0)
        except Exception:  # fetch timeouts, and errors while the server comes back
            continue
        for msg in msgs:
            seen[json.loads(msg.data)["data"]["work_id"]] += 1
            await msg.ack()
    try:  # anything that would come twice comes now
        for msg in await sub.fetch(50, timeout=1.5):
            seen[json.loads(msg.data)["data"]["work_id"]] += 1
    except Exception:
        pass
    await client.close()  # not drain(): it would wait out the pull subscription's pending request
    assert set(seen) == set(expected), f"missing {set(expected) - set(seen)}"
    assert all(count == 1 for count in seen.values()), f"duplicates: {seen}"
