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

Every attempt is charged as a failure to its counters before the password is hashed, and given
back when it turns out right; so simultaneous guesses are counted one by one and cannot race past a
lock. A locked attempt is answered 429 with `retry_after_s` (the gateway sends it as `Retry-After`)
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

    async def check(self, account: str, user_id: str | None, client: str) -> list[str]:
        """Charge this attempt as a failure to each counter *before* the password is checked, or
        raise 429 when one is locked; returns the keys charged (give them to `succeeded`).

        Charging first is what makes the lock-out hold against simultaneous guesses: each charge
        holds its counter's row lock until the transaction commits and refuses a locked key, and the
        charge that reaches the free failures sets the lock for every attempt after it — so a burst
        of N guesses gets the free ones checked and the rest refused, instead of N password checks
        racing past the counters."""
        if not self._s.login_guard_enabled:
            return []
        s = self._s
        pair, acct, cli = self._keys(account, client)
        limits = [(pair, s.login_pair_free_failures), (acct, s.login_account_free_failures),
                  (cli, s.login_client_free_failures)]
        if user_id is not None and await store.known_client(self._pool, user_id, client,
                                                            s.login_known_client_days * 86400):
            limits = [limits[0], limits[2]]  # the owner's usual client passes the account-wide lock
        locked_until: datetime | None = None
        async with self._pool.acquire() as conn, conn.transaction():
            for key, free in limits:  # always in this order (pair, account, client): no deadlocks
                until = await store.charge(conn, key, s.login_failure_window_s, free, s.login_lock_base_s,
                                           s.login_lock_max_s)
                if until is not None:
                    locked_until = until
                    break
            if locked_until is not None:
                # Leaving the transaction by this exception rolls back the charges made before it.
                wait_s = max(1, math.ceil((locked_until - datetime.now(UTC)).total_seconds()))
                log.info("community.login.throttled", key=key.split(":", 1)[0], retry_after_s=wait_s)
                raise TooManyRequests(f"too many failed sign-ins; try again in {wait_s} s",
                                      headers={"Retry-After": str(wait_s)}, extra={"retry_after_s": wait_s})
        if random.randrange(PRUNE_EVERY) == 0:  # not a secret: spreads the pruning
            await store.prune(self._pool, s.login_failure_window_s)
        return [key for key, _ in limits]

    async def succeeded(self, user_id: str, client: str, charged: list[str]) -> None:
        """The password was right: give back this attempt's charges, forget the pair's failures and
        remember the client as one of the user's usual ones."""
        if not self._s.login_guard_enabled:
            return
        s = self._s
        pair = self._keys(user_id, client)[0]
        free = {f"account:{user_id}": s.login_account_free_failures, f"client:{client}": s.login_client_free_failures}
        async with self._pool.acquire() as conn, conn.transaction():
            await store.forget(conn, [pair])
            for key in charged:
                if key in free:
                    await store.refund(conn, key, free[key])
            await store.remember_client(conn, user_id, client)
