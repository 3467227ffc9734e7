"""Where per-user quota counters live: a JetStream KeyValue bucket shared by every gateway replica
(production), or process memory (a single process, unit tests).

Two shapes of state, both updated with compare-and-set so that concurrent replicas never lose a
count:

- a *window counter* (`hit`): the number of units (uploads, images) spent in the current fixed
  window of `window_s` seconds, key `<kind>.<user>.<window index>`; it expires by itself with the
  window (per-message TTL), so nothing needs sweeping;
- a *lease set* (`acquire`/`renew`/`release`): the open WebSockets of a user, one key per user
  holding `{lease id: expiry}`. A replica renews the leases it holds; a replica that dies stops
  renewing and its leases stop counting after `lease_s`.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

_CAS_ATTEMPTS = 20


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    used: int  # units spent in the window (or leases held) after this decision
    retry_after_s: int = 0


class QuotaStore(Protocol):
    async def hit(self, kind: str, user: str, amount: int, limit: int, window_s: int) -> Verdict:
        """Spend `amount` units of `limit` in the current window, or nothing if it would overflow."""

    async def refund(self, kind: str, user: str, amount: int, window_s: int) -> None:
        """Give back units spent in the current window (the request they paid for failed)."""

    async def acquire(self, kind: str, user: str, lease: str, limit: int, lease_s: float) -> Verdict: ...

    async def renew(self, kind: str, user: str, lease: str, lease_s: float) -> None: ...

    async def release(self, kind: str, user: str, lease: str) -> None: ...


def window_of(now: float, window_s: int) -> tuple[int, int]:
    """(index of the window holding `now`, whole seconds until it ends, at least 1)."""
    index = int(now // window_s)
    return index, max(1, math.ceil((index + 1) * window_s - now))


def _live(leases: dict[str, float], now: float) -> dict[str, float]:
    return {k: v for k, v in leases.items() if v > now}


class MemoryQuotaStore:
    def __init__(self, *, clock: Callable[[], float] = time.time, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._counters: OrderedDict[str, int] = OrderedDict()
        self._leases: dict[str, dict[str, float]] = {}

    def _key(self, kind: str, user: str, window_s: int) -> tuple[str, int]:
        index, left = window_of(self._clock(), window_s)
        return f"{kind}.{user}.{index}", left

    async def hit(self, kind: str, user: str, amount: int, limit: int, window_s: int) -> Verdict:
        key, left = self._key(kind, user, window_s)
        used = self._counters.get(key, 0)
        if used + amount > limit:
            return Verdict(False, used, left)
        self._counters[key] = used + amount
        self._counters.move_to_end(key)
        while len(self._counters) > self._max_keys:
            self._counters.popitem(last=False)
        return Verdict(True, used + amount)

    async def refund(self, kind: str, user: str, amount: int, window_s: int) -> None:
        key, _ = self._key(kind, user, window_s)
        if key in self._counters:
            self._counters[key] = max(0, self._counters[key] - amount)

    async def acquire(self, kind: str, user: str, lease: str, limit: int, lease_s: float) -> Verdict:
        now = self._clock()
        leases = _live(self._leases.get(f"{kind}.{user}", {}), now)
        if lease not in leases and len(leases) >= limit:
            return Verdict(False, len(leases), max(1, math.ceil(min(leases.values()) - now)))
        leases[lease] = now + lease_s
        self._leases[f"{kind}.{user}"] = leases
        return Verdict(True, len(leases))

    async def renew(self, kind: str, user: str, lease: str, lease_s: float) -> None:
        leases = self._leases.setdefault(f"{kind}.{user}", {})
        leases[lease] = self._clock() + lease_s

    async def release(self, kind: str, user: str, lease: str) -> None:
        leases = self._leases.get(f"{kind}.{user}", {})
        leases.pop(lease, None)
        if not leases:
            self._leases.pop(f"{kind}.{user}", None)


class NatsQuotaStore:
    """The counters in a KV bucket (history 1, per-message TTL); every update is a CAS on the
    key's last revision, retried when another replica wrote in between."""

    def __init__(self, kv: KeyValue, *, timeout_s: float = 2.0, clock: Callable[[], float] = time.time) -> None:
        self._kv = kv
        self._timeout_s = timeout_s
        self._clock = clock

    @classmethod
    async def open(cls, js: JetStreamContext, bucket: str, max_window_s: float,
                   timeout_s: float = 2.0, replicas: int = 1) -> NatsQuotaStore:
        try:
            kv = await js.key_value(bucket)
        except BucketNotFoundError:
            try:
                # `ttl` bounds every key's life; each key also carries its own, shorter TTL.
                kv = await js.create_key_value(bucket=bucket, ttl=max_window_s * 2, history=1, replicas=replicas,
                                               description="Per-user quota counters of the gateway")
            except Exception:  # another replica created it at the same moment
                kv = await js.key_value(bucket)
        return cls(kv, timeout_s=timeout_s)

    async def _read(self, key: str) -> tuple[bytes | None, int]:
        """The value and revision of `key` (None and 0 when absent or deleted)."""
        try:
            entry = await asyncio.wait_for(self._kv.get(key), self._timeout_s)
        except KeyNotFoundError:
            return None, 0
        return entry.value, entry.revision or 0

    async def _write(self, key: str, value: bytes, revision: int, ttl_s: float) -> bool:
        """CAS write; False when another writer got there first."""
        try:
            if revision == 0:
                await asyncio.wait_for(self._kv.create(key, value, msg_ttl=ttl_s), self._timeout_s)
            else:
                # `update` takes no TTL in nats-py 2.16; `_update` (what it calls) does.
                await asyncio.wait_for(self._kv._update(key, value, last=revision, msg_ttl=ttl_s),
                                       self._timeout_s)
        except KeyWrongLastSequenceError:
            return False
        return True

    async def hit(self, kind: str, user: str, amount: int, limit: int, window_s: int) -> Verdict:
        index, left = window_of(self._clock(), window_s)
        key = f"{kind}.{user}.{index}"
        for _ in range(_CAS_ATTEMPTS):
            raw, revision = await self._read(key)
            used = int(raw) if raw else 0
            if used + amount > limit:
                return Verdict(False, used, left)
            if await self._write(key, str(used + amount).encode(), revision, left + 1):
                return Verdict(True, used + amount)
        raise RuntimeError(f"quota counter {kind} too contended")

    async def refund(self, kind: str, user: str, amount: int, window_s: int) -> None:
        index, left = window_of(self._clock(), window_s)
        key = f"{kind}.{user}.{index}"
        for _ in range(_CAS_ATTEMPTS):
            raw, revision = await self._read(key)
            if not raw:
                return
            if await self._write(key, str(max(0, int(raw) - amount)).encode(), revision, left + 1):
                return

    async def _update_leases(self, kind: str, user: str, change: Callable[[dict[str, float], float], Verdict],
                             lease_s: float) -> Verdict:
        key = f"{kind}.{user}"
        for _ in range(_CAS_ATTEMPTS):
            raw, revision = await self._read(key)
            now = self._clock()
            leases = _live(json.loads(raw) if raw else {}, now)
            verdict = change(leases, now)
            if not verdict.allowed:
                return verdict
            value = json.dumps(leases).encode()
            if await self._write(key, value, revision, max(lease_s, 1.0) * 2):
                return verdict
        raise RuntimeError(f"quota leases {kind} too contended")

    async def acquire(self, kind: str, user: str, lease: str, limit: int, lease_s: float) -> Verdict:
        def change(leases: dict[str, float], now: float) -> Verdict:
            if lease not in leases and len(leases) >= limit:
                return Verdict(False, len(leases), max(1, math.ceil(min(leases.values()) - now)))
            leases[lease] = now + lease_s
            return Verdict(True, len(leases))

        return await self._update_leases(kind, user, change, lease_s)

    async def renew(self, kind: str, user: str, lease: str, lease_s: float) -> None:
        def change(leases: dict[str, float], now: float) -> Verdict:
            leases[lease] = now + lease_s
            return Verdict(True, len(leases))

        await self._update_leases(kind, user, change, lease_s)

    async def release(self, kind: str, user: str, lease: str) -> None:
        def change(leases: dict[str, float], now: float) -> Verdict:
            leases.pop(lease, None)
            return Verdict(True, len(leases))

        await self._update_leases(kind, user, change, 60.0)
