"""The login guard against the real PostgreSQL: attempts arriving at the same moment (several
community replicas, or one serving concurrently) are charged one by one before any password is
hashed, so a burst cannot race past the lock-out; a success gives its charge back."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import aiohttp

from services.community.login_guard import LoginGuard
from services.community.settings import CommunitySettings
from shared.db import create_pool
from shared.errors import TooManyRequests
from tests.support.members import sign_up


async def _guard(endpoints: Any) -> tuple[LoginGuard, CommunitySettings, Any]:
    settings = CommunitySettings(database_url=endpoints.database_url, db_pool_max=20)
    pool = await create_pool(settings, schema="community")
    return LoginGuard(pool, settings), settings, pool


async def test_a_burst_of_attempts_gets_only_the_free_ones_checked(endpoints: Any, platform: Any) -> None:
    guard, settings, pool = await _guard(endpoints)
    account, client = f"login:race_{secrets.token_hex(4)}", f"203.0.113.{secrets.randbelow(250) + 1}"

    async def attempt() -> str:
        try:
            await guard.check(account, None, client)
        except TooManyRequests as exc:
            assert int(exc.headers["Retry-After"]) >= 1
            return "refused"
        return "checked"

    try:
        outcomes = await asyncio.gather(*(attempt() for _ in range(40)))
        assert outcomes.count("checked") == settings.login_pair_free_failures, outcomes
    finally:
        await pool.close()


async def test_successes_give_their_charge_back(endpoints: Any, gateway_url: str) -> None:
    async with aiohttp.ClientSession(base_url=gateway_url, timeout=aiohttp.ClientTimeout(total=30)) as http:
        user_id = (await sign_up(http, "lg_")).id
    guard, settings, pool = await _guard(endpoints)
    client = f"203.0.113.{secrets.randbelow(250) + 1}"
    try:
        for _ in range(settings.login_pair_free_failures * 3):  # far more than the free failures
            charged = await guard.check(user_id, user_id, client)
            await guard.succeeded(user_id, client, charged)
        remaining = await pool.fetch("SELECT key, failures, locked_until FROM login_failures"
                                     " WHERE key = ANY($1::text[])", [f"account:{user_id}", f"pair:{user_id}|{client}"])
        assert all(r["failures"] == 0 and r["locked_until"] is None for r in remaining), remaining
    finally:
        await pool.close()
