"""Accounts: signup, login, profiles and follows."""

from __future__ import annotations

from typing import Any

from services.community import events, views
from services.community.deps import Deps
from services.community.login_guard import account_key
from services.community.store import users as store
from services.community.store import works as keys
from shared.contracts.common import patch_fields
from shared.contracts.community import LoginBody, ProfilePatch, SignupBody
from shared.errors import NotFound, Unauthorized, Unprocessable
from shared.ids import new_id
from shared.logging import get_logger

log = get_logger(__name__)


def session(deps: Deps, user: Any, *, now: float | None = None) -> dict[str, Any]:
    return {"user": views.user_private(user), "token": deps.tokens.issue(user.id, user.username, now=now),
            "token_type": "Bearer", "expires_in": deps.tokens.ttl_s}


SIGNUP = "auth.signup"  # the operation its Idempotency-Key is remembered under, with the new user's id


async def signup(deps: Deps, body: SignupBody, key: str | None = None) -> dict[str, Any]:
    """Create the account. A retry with the same Idempotency-Key, username and password (its first
    answer was lost on the way: a NATS reconnect, a gateway crash) gets a session for that account,
    as a login would, instead of a 409 for the username it took itself."""
    if key is not None and (again := await _signed_up_with(deps, body, key)) is not None:
        return again
    password_hash = await deps.passwords.hash(body.password)
    async with deps.pool.acquire() as conn, conn.transaction():
        user = await store.insert_user(conn, new_id(), body.username, body.email, password_hash)
        if key is not None:
            await keys.save_response(conn, user.id, SIGNUP, key, {"user_id": user.id})
        await events.user_created(conn, user)
    log.info("community.user.created", user_id=user.id)
    return session(deps, user)


async def _signed_up_with(deps: Deps, body: SignupBody, key: str) -> dict[str, Any] | None:
    found = await store.credentials_by_login(deps.pool, body.username)
    if found is None or (found.username, found.email.lower()) != (body.username.lower(), body.email.lower()):
        return None
    if await keys.saved_response(deps.pool, found.id, SIGNUP, key) is None:
        return None
    if not await deps.passwords.verify(found.password_hash, body.password):
        return None  # not the same sign-up: the username stays taken (409)
    log.info("community.signup.replayed", user_id=found.id)
    return session(deps, found)


async def login(deps: Deps, body: LoginBody, client: str) -> dict[str, Any]:
    """Check the password unless this client must wait (login_guard: 429 before any hashing)."""
    found = await store.credentials_by_login(deps.pool, body.login.strip())
    account = account_key(found.id if found else None, body.login)
    # Charged as a failure before the hash, given back on success (login_guard: no racing past it).
    charged = await deps.login_guard.check(account, found.id if found else None, client)
    ok = await deps.passwords.verify(found.password_hash if found else None, body.password)
    if found is None or not ok:
        raise Unauthorized("wrong username, email or password")
    await deps.login_guard.succeeded(found.id, client, charged)
    if deps.passwords.needs_rehash(found.password_hash):
        await store.set_password_hash(deps.pool, found.id, await deps.passwords.hash(body.password))
    return session(deps, found)


async def me(deps: Deps, actor_id: str) -> dict[str, Any]:
    row = await store.profile_by_id(deps.pool, actor_id, actor_id)
    if row is None:
        raise Unauthorized("this account no longer exists")
    return views.profile(row, own=True)


async def update_me(deps: Deps, actor_id: str, patch: ProfilePatch) -> dict[str, Any]:
    fields = patch_fields(patch)
    async with deps.pool.acquire() as conn, conn.transaction():
        if await store.update_profile(conn, actor_id, fields) is None:
            raise Unauthorized("this account no longer exists")
        if "allow_training" in fields:  # models trained on the account's works follow it (trainer)
            await events.training_consent_changed(conn, actor_id, bool(fields["allow_training"]))
    return await me(deps, actor_id)


async def profile(deps: Deps, viewer_id: str | None, username: str) -> dict[str, Any]:
    row = await store.profile_by_username(deps.pool, username, viewer_id)
    if row is None:
        raise NotFound(f"no user named {username!r}")
    return views.profile(row, own=row.id == viewer_id)


async def public_user(deps: Deps, user_id: str) -> dict[str, Any]:
    row = await store.profile_by_id(deps.pool, user_id, None)
    if row is None:
        raise NotFound("no such user")
    return views.profile(row, own=False)


async def followees(deps: Deps, actor_id: str) -> dict[str, list[str]]:
    """Whom the caller follows (the gateway's live `feed` subscription filters on it)."""
    return {"user_ids": await store.followed_ids(deps.pool, actor_id, limit=10_000)}


async def follow(deps: Deps, actor_id: str, username: str, *, on: bool) -> None:
    """PUT/DELETE follow: idempotent; the event is emitted only when a follow is really new."""
    async with deps.pool.acquire() as conn, conn.transaction():
        followee_id = await store.user_id_by_username(conn, username)
        if followee_id is None:
            raise NotFound(f"no user named {username!r}")
        if followee_id == actor_id:
            raise Unprocessable("you cannot follow yourself",
                                errors=[{"field": "username", "message": "that is you", "type": "self_follow"}])
        if on:
            if await store.follow(conn, actor_id, followee_id):
                await events.user_followed(conn, actor_id, followee_id)
        elif await store.unfollow(conn, actor_id, followee_id):
            await events.user_unfollowed(conn, actor_id, followee_id)
