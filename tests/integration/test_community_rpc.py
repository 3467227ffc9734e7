"""Community's internal RPCs against the running platform (real NATS, PostgreSQL and assets):
`users.get`, `works.create` for AI works, `works.training_set`, and events only for real changes; a
sign-up retried with its Idempotency-Key signs in to the account it made."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import secrets
from typing import Any

import pytest
from nats.js.api import DeliverPolicy
from PIL import Image

from shared.contracts import assets, community
from shared.contracts.operation import operations
from shared.errors import Conflict, NotFound, Unprocessable
from shared.messaging.rpc import call, call_raw
from tests.support.streams import wait_outbox_relayed


async def _call(nc: Any, op: str, payload: dict[str, Any], actor: str | None = None) -> Any:
    declared = {o.name: o for o in operations(community.SERVICE)}
    return json.loads(await call_raw(nc, declared[op], payload, timeout=10, actor_id=actor))


async def _user(nc: Any, *, consent: bool = False) -> str:
    name = "r_" + secrets.token_hex(6)
    session = await _call(nc, "auth.signup", {"username": name, "email": f"{name}@example.com",
                                              "password": "correct horse battery"})
    user_id: str = session["user"]["id"]
    if consent:
        await _call(nc, "users.update_me", {"allow_training": True}, user_id)
    return user_id


async def _asset(nc: Any, owner_id: str) -> str:
    buf = io.BytesIO()
    Image.frombytes("RGB", (8, 8), secrets.token_bytes(8 * 8 * 3)).save(buf, "PNG")
    stored = await call(nc, assets.STORE, {"owner_id": owner_id, "kind": "generated",
                                           "data_b64": base64.b64encode(buf.getvalue()).decode()}, timeout=10)
    return stored.id


async def _work(nc: Any, author: str, **fields: Any) -> str:
    body = {"title": "w", "asset_ids": [await _asset(nc, author)], **fields}
    return str((await _call(nc, "works.create", body, author))["id"])


@pytest.fixture
async def rpc(nc: Any, platform: dict[str, str]) -> Any:
    return nc


async def test_a_retried_signup_with_its_key_signs_in_to_the_account_it_made(rpc: Any) -> None:
    """Its first answer was lost (a NATS reconnect, a gateway crash): the retry with the same
    Idempotency-Key gets a session for that account, not a 409 for the username it took itself."""
    name = "r_" + secrets.token_hex(6)
    body = {"username": name, "email": f"{name}@example.com", "password": "correct horse battery"}
    key = {"Idempotency-Key": f"signup-{name}"}
    first = json.loads(await call_raw(rpc, community.AUTH_SIGNUP, body, timeout=10, headers=key))
    again = json.loads(await call_raw(rpc, community.AUTH_SIGNUP, body, timeout=10, headers=key))
    assert again["user"]["id"] == first["user"]["id"] and again["token"]
    me = json.loads(await call_raw(rpc, community.USERS_ME, {}, timeout=10, actor_id=again["user"]["id"]))
    assert me["username"] == name
    for other in ({**body, "password": "another horse battery"}, {**body, "email": f"x{name}@example.com"}):
        with pytest.raises(Conflict):  # not the same sign-up: the username stays taken
            await call_raw(rpc, community.AUTH_SIGNUP, other, timeout=10, headers=key)
    with pytest.raises(Conflict):  # nor without the key
        await call_raw(rpc, community.AUTH_SIGNUP, body, timeout=10)


async def test_users_get_is_the_public_profile(rpc: Any) -> None:
    user_id = await _user(rpc)
    profile = await _call(rpc, "users.get", {"user_id": user_id})
    assert profile["id"] == user_id and "email" not in profile and "counts" in profile
    with pytest.raises(NotFound):
        await _call(rpc, "users.get", {"user_id": "01J0000000000000000000000A"})


async def test_ai_work_credits_model_and_owner(rpc: Any) -> None:
    creator, model_owner = await _user(rpc), await _user(rpc)
    asset = await _asset(rpc, creator)
    work = await _call(rpc, "works.create", {
        "title": "Dream 7", "asset_ids": [asset], "origin": "ai", "model_id": "m1", "model_version": 3,
        "model_owner_id": model_owner, "generation_id": "g1"}, creator)
    assert work["origin"] == "ai" and work["generation_id"] == "g1"
    assert work["model"] == {"id": "m1", "version": 3, "owner_id": model_owner}
    with pytest.raises(Unprocessable):  # only AI works credit a model
        await _call(rpc, "works.create", {"title": "x", "asset_ids": [asset], "model_id": "m1"}, creator)


async def test_training_set_needs_consent_twice_and_visibility(rpc: Any) -> None:
    artist, shy, trainer = await _user(rpc, consent=True), await _user(rpc), await _user(rpc)
    usable = await _work(rpc, artist, allow_training=True)
    work_says_no = await _work(rpc, artist, allow_training=False)
    account_says_no = await _work(rpc, shy, allow_training=True)
    private = await _work(rpc, artist, allow_training=True, visibility="private")
    missing = "01J0000000000000000000000A"
    result = await _call(rpc, "works.training_set",
                         {"work_ids": [usable, work_says_no, account_says_no, private, missing]}, trainer)
    assert [w["id"] for w in result["works"]] == [usable]
    assert result["works"][0]["author_id"] == artist and result["works"][0]["asset_ids"]
    assert set(result["refused"]) == {work_says_no, account_says_no, private, missing}
    own = await _call(rpc, "works.training_set", {"work_ids": [private]}, artist)
    assert [w["id"] for w in own["works"]] == [private]  # the author may use their own private work

    collection = await _call(rpc, "collections.create", {"title": "set", "work_ids": [usable, account_says_no],
                                                         "training_set": True}, trainer)
    by_collection = await _call(rpc, "works.training_set", {"collection_id": collection["id"]}, trainer)
    assert [w["id"] for w in by_collection["works"]] == [usable] and by_collection["refused"] == [account_says_no]
    secret = await _call(rpc, "collections.create", {"title": "mine", "visibility": "private"}, artist)
    with pytest.raises(NotFound):
        await _call(rpc, "works.training_set", {"collection_id": secret["id"]}, trainer)


async def test_events_only_for_real_changes(rpc: Any, js: Any, endpoints: Any) -> None:
    author, fan = await _user(rpc), await _user(rpc)
    work_id = await _work(rpc, author)
    likes = await js.subscribe("community.work.liked", ordered_consumer=True, deliver_policy=DeliverPolicy.NEW)
    follows = await js.subscribe("community.user.followed", ordered_consumer=True,
                                 deliver_policy=DeliverPolicy.NEW)
    author_name = (await _call(rpc, "users.get", {"user_id": author}))["username"]
    for op in ("works.like", "works.like", "works.unlike", "works.like"):
        await _call(rpc, op, {"id": work_id}, fan)
    for _ in range(2):
        await _call(rpc, "users.follow", {"username": author_name}, fan)

    async def collect(sub: Any, key: str, value: str, expected: int) -> int:
        """Count matching events until `expected` arrived, then listen a second more so that a
        duplicate (already relayed, see below) would be counted too."""
        loop = asyncio.get_running_loop()
        count, end = 0, loop.time() + 20
        while (left := end - loop.time()) > 0:
            try:
                msg = await sub.next_msg(timeout=min(left, 0.5))
            except TimeoutError:
                continue
            if json.loads(msg.data)["data"][key] == value:
                count += 1
                if count == expected:
                    end = loop.time() + 1.0
        return count

    await wait_outbox_relayed(endpoints.database_url, "community")  # every event committed is on the stream
    liked, followed = await asyncio.gather(collect(likes, "work_id", work_id, 2),
                                           collect(follows, "follower_id", fan, 1))
    assert liked == 2  # like, (repeat: nothing), unlike, like again
    assert followed == 1
    await likes.unsubscribe()
    await follows.unsubscribe()
