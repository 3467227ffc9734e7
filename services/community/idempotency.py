"""`Idempotency-Key` on creating requests: a replay returns the first answer, nothing is created twice.

The key itself is read through the one rule of `shared.contracts.common.idempotency_key`
(`Call.idempotency_key`): blank is none, longer than 200 characters is a 422.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from services.community.store import works as store


async def run_once(pool: asyncpg.Pool, actor_id: str, operation: str, key: str | None,
                   create: Callable[[asyncpg.Connection], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Run `create` in a transaction, or return the saved answer of an earlier run with `key`."""
    async with pool.acquire() as conn, conn.transaction():
        if key is not None:
            await store.lock_key(conn, f"{actor_id}:{operation}:{key}")
            saved = await store.saved_response(conn, actor_id, operation, key)
            if saved is not None:
                return saved
        result = await create(conn)
        if key is not None:
            await store.save_response(conn, actor_id, operation, key, result)
        return result
