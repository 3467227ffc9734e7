"""argon2id password hashing, run in a thread pool: each hash is tens of ms of CPU and memory."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.contracts.community import PASSWORD_MAX_LENGTH as MAX_LENGTH
from shared.contracts.community import PASSWORD_MIN_LENGTH as MIN_LENGTH

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "Passwords"]


class Passwords:
    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int, workers: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        # The C code releases the GIL, so a small pool hashes in parallel without blocking the loop.
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Check a password; with no stored hash, still spend the same time (no user enumeration)."""
        if stored_hash is None:
            if self._dummy is None:
                self._dummy = await self.hash("not-a-real-password")
            stored_hash = self._dummy
            password = password + "\0"  # never matches the dummy
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._check, stored_hash, password)

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)

    def _check(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
