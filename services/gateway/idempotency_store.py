"""Where `Idempotency-Key` records live: a JetStream KeyValue bucket shared by every gateway
replica (production), or an in-process LRU (tests, single process).

A record is first *reserved* (state `pending`, holding the body fingerprint) so that two
concurrent requests with one key cannot both run; it becomes `done` with the stored response, or
is released when the request did not succeed (only 2xx answers are replayed).

A reservation is a short *lease* (`lease_until`, a few seconds) that the gateway running the
request renews while it runs. A gateway that dies (or loses NATS) stops renewing: its lease runs
out within seconds and a retry with the same key runs once more; the services deduplicate by
the key as well, so that second run cannot create a second thing. Any replica can tell a dead
holder's lease from a live one: the record carries its end time and its owner.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeVar

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

T = TypeVar("T")
OWNER = f"{socket.gethostname()}:{os.getpid()}"
LEGACY_PENDING_S = 60.0  # records written before leases: their pending marker counted from started_at


class StoreUnavailable(Exception):
    """The record store cannot be reached right now (the caller degrades to no replay)."""


@dataclass
class StoredResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class IdempotencyRecord:
    fingerprint: str
    state: str  # "pending" | "done"
    started_at: float
    response: StoredResponse | None = None
    lease_until: float = 0.0  # pending only: after this the holder is presumed dead
    owner: str = ""

    def live(self, now: float) -> bool:
        """A done record, or a pending one whose holder still renews its lease."""
        return self.state == "done" or self.lease_until > now

    def to_bytes(self) -> bytes:
        doc = asdict(self)
        if self.response is not None:
            doc["response"]["body"] = base64.b64encode(self.response.body).decode()
        return json.dumps(doc).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> IdempotencyRecord:
        doc = json.loads(raw)
        response = doc.get("response")
        if response is not None:
            response = StoredResponse(int(response["status"]), base64.b64decode(response["body"]),
                                      dict(response.get("headers") or {}))
        started = float(doc["started_at"])
        lease_until = float(doc.get("lease_until") or started + LEGACY_PENDING_S)
        return cls(doc["fingerprint"], doc["state"], started, response, lease_until, str(doc.get("owner") or ""))


def pending(fingerprint: str, lease_s: float, started_at: float | None = None) -> IdempotencyRecord:
    now = time.time()
    return IdempotencyRecord(fingerprint, "pending", started_at or now, lease_until=now + lease_s, owner=OWNER)


class IdempotencyStore(Protocol):
    lease_s: float

    async def reserve(self, key: str, fingerprint: str) -> IdempotencyRecord | None:
        """Claim `key`: None when the caller now holds it, else the live record already there.
        Raises `StoreUnavailable` when the store cannot be reached."""

    async def renew(self, key: str) -> bool:
        """Extend the caller's lease on `key`; False when it was lost (expired and taken over)."""

    async def complete(self, key: str, record: IdempotencyRecord) -> None: ...

    async def release(self, key: str) -> None: ...


class MemoryIdempotencyStore:
    def __init__(self, ttl_s: float, pending_s: float, max_keys: int = 50_000) -> None:
        self._ttl_s = ttl_s
        self.lease_s = pending_s
        self._max_keys = max_keys
        self._records: OrderedDict[str, tuple[float, IdempotencyRecord]] = OrderedDict()

    async def reserve(self, key: str, fingerprint: str) -> IdempotencyRecord | None:
        now = time.time()
        found = self._records.get(key)
        if found is not None:
            expires, record = found
            if expires > now and record.live(now):
                return record
        self._records[key] = (now + self._ttl_s, pending(fingerprint, self.lease_s))
        self._records.move_to_end(key)
        while len(self._records) > self._max_keys:
            self._records.popitem(last=False)
        return None

    async def renew(self, key: str) -> bool:
        found = self._records.get(key)
        if found is None or found[1].state != "pending" or found[1].owner != OWNER:
            return False
        found[1].lease_until = time.time() + self.lease_s
        return True

    async def complete(self, key: str, record: IdempotencyRecord) -> None:
        self._records[key] = (time.time() + self._ttl_s, record)

    async def release(self, key: str) -> None:
        self._records.pop(key, None)


class NatsIdempotencyStore:
    """Records in the KV bucket (`ttl` = the replay window). A pending record whose lease has ended
    is taken over by the next request with its key (compare-and-set on the record's revision, so
    of two retries racing for it one wins); renewals and releases are compare-and-set too, so a
    holder that lost its key cannot extend or free the new holder's reservation."""

    def __init__(self, kv: KeyValue, pending_s: float, timeout_s: float = 2.0, nc: NATS | None = None) -> None:
        self._kv = kv
        self.lease_s = pending_s
        self._timeout_s = timeout_s
        self._nc = nc
        # Keys this process holds -> the revision and content of its pending record.
        self._held: dict[str, tuple[int, IdempotencyRecord]] = {}

    @classmethod
    async def open(cls, js: JetStreamContext, bucket: str, ttl_s: float, pending_s: float,
                   nc: NATS | None = None, replicas: int = 1) -> NatsIdempotencyStore:
        try:
            kv = await js.key_value(bucket)
        except BucketNotFoundError:
            try:
                kv = await js.create_key_value(bucket=bucket, ttl=ttl_s, history=1, replicas=replicas,
                                               description="Idempotency-Key responses of the gateway")
            except Exception:  # another replica created it at the same moment
                kv = await js.key_value(bucket)
        return cls(kv, pending_s, nc=nc)

    async def _io(self, op: Coroutine[Any, Any, T]) -> T:
        """One KV round trip, bounded; fails at once while NATS is disconnected."""
        if self._nc is not None and not self._nc.is_connected:
            op.close()  # it will not run: no "never awaited" warning
            raise StoreUnavailable("NATS is not connected")
        try:
            return await asyncio.wait_for(op, self._timeout_s)
        except (KeyWrongLastSequenceError, KeyNotFoundError):
            raise
        except Exception as exc:
            raise StoreUnavailable(str(exc) or type(exc).__name__) from exc

    async def reserve(self, key: str, fingerprint: str) -> IdempotencyRecord | None:
        for _ in range(3):
            record = pending(fingerprint, self.lease_s)
            try:
                revision = await self._io(self._kv.create(key, record.to_bytes()))
                self._held[key] = (revision, record)
                return None
            except KeyWrongLastSequenceError:
                pass
            try:
                entry = await self._io(self._kv.get(key))
            except KeyNotFoundError:
                continue  # released or expired in between: try to claim it again
            found = IdempotencyRecord.from_bytes(entry.value or b"{}")
            if found.live(time.time()):
                return found
            try:  # the holder stopped renewing (it died): take the key over, once
                revision = await self._io(
                    self._kv.update(key, record.to_bytes(), last=entry.revision))
                self._held[key] = (revision, record)
                return None
            except KeyWrongLastSequenceError:
                continue  # another retry took it first
        raise StoreUnavailable("could not reserve the idempotency key (contention)")

    async def renew(self, key: str) -> bool:
        held = self._held.get(key)
        if held is None:
            return False
        revision, record = held
        record.lease_until = time.time() + self.lease_s
        try:
            revision = await self._io(self._kv.update(key, record.to_bytes(), last=revision))
        except KeyWrongLastSequenceError:
            self._held.pop(key, None)  # expired and taken over by a retry
            return False
        self._held[key] = (revision, record)
        return True

    async def complete(self, key: str, record: IdempotencyRecord) -> None:
        self._held.pop(key, None)
        await self._io(self._kv.put(key, record.to_bytes()))

    async def release(self, key: str) -> None:
        held = self._held.pop(key, None)
        if held is None:
            return  # never held, or lost to a retry that took it over
        try:  # only our own reservation: a key taken over after our lease ended is the new holder's
            await self._io(self._kv.delete(key, last=held[0]))
        except (KeyWrongLastSequenceError, KeyNotFoundError):
            pass
