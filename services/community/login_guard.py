"""Login protection: exponential lock-outs per (account, client), per account and per client.

A client is the address the gateway saw (`Atelier-Client-Address`, from `ATELIER_FORWARDED_HOPS`).
Three counters of failed password checks, shared by every replica in PostgreSQL:

- `pair:<account>|<client>`: after `login_pair_free_failures` failures in a row, that client must
  wait `base * 2^k` seconds (k = failures beyond the free ones, capped at `login_lock_max_s`) before
  its next attempt on that account. This is what stops one attacker guessing; it does not touch
  the account's owner on another client.
- `account:<account>`: a looser limit over all clients together (`login_account_free_failures`),
  against guessing from many addresses. It is not applied to clients the user signed in from
  successfully before (`login_clients`, for `login_known_client_days`): the owner's usual devices
  keep working while an attack runs; only new clients wait. (The trade-off: during a distributed
  attack, the owner on a brand-new client waits too.)
- `client:<client>`: failures of one client over all accounts (`login_client_free_failures`),
  against spraying one password over many accounts.

A locked attempt is answered 429 with `retry_after_s` (the gateway sends it as `Retry-After`)
before any hashing, so a flood of guesses costs no Argon2 time. A success clears its pair counter
and remembers the client. Unknown logins count like real accounts (keyed by the login text), so the
answers do not tell which accounts exist. Counters idle for `login_failure_window_s` start over.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import asyncpg

from services.community.settings import CommunitySettings
from services.community.store import login_failures as store
from shared.errors import TooManyRequests
from shared.logging import get_logger

log = get_logger(__name__)
PRUNE_EVERY = 200  # on average, one failure in this many also deletes long idle counters


def account_key(user_id: str | None, login: str) -> str:
    return user_id if user_id is not None else "login:" + login.strip().lower()


class LoginGuard:
    def __init__(self, pool: asyncpg.Pool, settings: CommunitySettings) -> None:
        self._pool = pool
        self._s = settings

    def _keys(self, account: str, client: str) -> tuple[str, str, str]:
        return f"pair:{account}|{client}", f"account:{account}", f"client:{client}"

    async def check(self, account: str, user_id: str | None, client: str) -> None:
        """Raise 429 when this client must wait before trying this account again."""
        if not self._s.login_guard_enabled:
            return
        pair, acct, cli = self._keys(account, client)
        locks = await store.locked(self._pool, [pair, acct, cli])
        if acct in locks and user_id is not None and await store.known_client(
                self._pool, user_id, client, self._s.login_known_client_days * 86400):
            del locks[acct]  # the owner's usual client passes the account-wide lock
        if not locks:
            return
        now = datetime.now(UTC)
        wait_s = max(1, math.ceil(max((until - now).total_seconds() for until in locks.values())))
        log.info("community.login.throttled", keys=sorted(k.split(":", 1)[0] for k in locks), retry_after_s=wait_s)
        raise TooManyRequests(f"too many failed sign-ins; try again in {wait_s} s",
                              headers={"Retry-After": str(wait_s)}, extra={"retry_after_s": wait_s})

    async def failed(self, account: str, client: str) -> None:
        if not self._s.login_guard_enabled:
            return
        s = self._s
        pair, acct, cli = self._keys(account, client)
        async with self._pool.acquire() as conn, conn.transaction():
            for key, free in ((pair, s.login_pair_free_failures), (acct, s.login_account_free_failures),
                              (cli, s.login_client_free_failures)):
                await store.record_failure(conn, key, s.login_failure_window_s, free, s.login_lock_base_s,
                                           s.login_lock_max_s)
            if random.randrange(PRUNE_EVERY) == 0:  # not a secret: spreads the pruning
                await store.prune(conn, s.login_failure_window_s)

    async def succeeded(self, user_id: str, client: str) -> None:
        if not self._s.login_guard_enabled:
            return
        async with self._pool.acquire() as conn, conn.transaction():
            await store.forget(conn, [self._keys(user_id, client)[0]])
            await store.remember_client(conn, user_id, client)
