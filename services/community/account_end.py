"""Accounts that end and passwords that change (issue 19), and the user's data for export.

Both need the current password, checked under the login guard (so a stolen token cannot be used
to guess it). Both publish an event in the transaction of the change; the gateway learns from it
which tokens to refuse (`services/gateway/revocations.py`):
- `community.user.deleted`: every token of the user; assets deletes the user's files, trainer
  withdraws their training consent and models. Works of others made with the user's models stay
  (they credit the model by id only), the rest of what the user made goes with the account.
- `community.user.credentials_changed`: tokens issued before `not_before`; the answer carries a new
  token issued at `not_before`, so the client stays signed in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.community import accounts, events
from services.community.deps import Deps
from services.community.login_guard import account_key
from services.community.store import accounts as store
from services.community.store import users
from services.community.store.rows import CredentialsRow
from shared.contracts.community import AccountDeleteBody, ExportQuery, PasswordChangeBody
from shared.errors import Forbidden, Unauthorized
from shared.logging import get_logger

log = get_logger(__name__)


async def _checked(deps: Deps, actor_id: str, password: str, client: str) -> CredentialsRow:
    found = await store.credentials_by_id(deps.pool, actor_id)
    if found is None:
        raise Unauthorized("this account no longer exists")
    account = account_key(found.id, found.username)
    charged = await deps.login_guard.check(account, found.id, client)  # a failure until proven right
    if not await deps.passwords.verify(found.password_hash, password):
        raise Forbidden("the password is not correct",
                        errors=[{"field": "password", "message": "not your current password", "type": "password"}])
    await deps.login_guard.succeeded(found.id, client, charged)
    return found


async def delete_me(deps: Deps, actor_id: str, body: AccountDeleteBody, client: str) -> None:
    user = await _checked(deps, actor_id, body.password, client)
    async with deps.pool.acquire() as conn, conn.transaction():
        works = await store.delete_account(conn, actor_id)
        if works is None:
            raise Unauthorized("this account no longer exists")
        for work in works:
            await events.work_deleted(conn, work)
        await events.user_deleted(conn, user, datetime.now(UTC))
    log.info("community.user.deleted", user_id=actor_id, works=len(works))


async def change_password(deps: Deps, actor_id: str, body: PasswordChangeBody, client: str) -> dict[str, Any]:
    user = await _checked(deps, actor_id, body.current, client)
    new_hash = await deps.passwords.hash(body.new)
    # Milliseconds, like the tokens' `iat_ms`: the new token (issued at this instant) is not revoked.
    now = datetime.now(UTC)
    moment = now.replace(microsecond=now.microsecond // 1000 * 1000)
    async with deps.pool.acquire() as conn, conn.transaction():
        await users.set_password_hash(conn, actor_id, new_hash)
        await events.credentials_changed(conn, actor_id, moment)
    log.info("community.user.credentials_changed", user_id=actor_id)
    return accounts.session(deps, user, now=moment.timestamp())


async def export(deps: Deps, actor_id: str, query: ExportQuery) -> dict[str, Any]:
    items, next_after = await store.export_page(deps.pool, actor_id, query.section, query.after, query.limit)
    return {"items": items, "next_after": next_after}
