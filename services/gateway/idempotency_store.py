"""Where `Idempotency-Key` records live: a JetStream KeyValue bucket shared by every gateway
replica (production), or an in-process LRU (tests, single process).

A record is first *reserved* (state `pending`, holding the body fingerprint) so that two
concurrent requests with one key cannot both run; it becomes `done` with the stored response, or
is released when the request did not succeed (only 2xx answers are replayed).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Protocol

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue


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
        return cls(doc["fingerprint"], doc["state"], float(doc["started_at"]), response)


class IdempotencyStore(Protocol):
    async def reserve(self, key: str, fingerprint: str) -> IdempotencyRecord | None:
        """Claim `key`: None when the caller now owns it, else the record already there."""

    async def complete(self, key: str, record: IdempotencyRecord) -> None: ...

    async def release(self, key: str) -> None: ...


class MemoryIdempotencyStore:
    def __init__(self, ttl_s: float, pending_s: float, max_keys: int = 50_000) -> None:
        self._ttl_s = ttl_s
        self._pending_s = pending_s
        self._max_keys = max_keys
        self._records: OrderedDict[str, tuple[float, IdempotencyRecord]] = OrderedDict()

    async def reserve(self, key: str, fingerprint: str) -> IdempotencyRecord | None:
        now = time.time()
        found = self._records.get(key)
        if found is not None:
            expires, record = found
            stale = record.state == "pending" and now - record.started_at > self._pending_s
            if expires > now and not stale:
                return record
        self._records[key] = (now + self._ttl_s, IdempotencyRecord(fingerprint, "pending", now))
        self._records.move_to_end(key)
        while len(self._records) > self._max_keys:
            self._records.popitem(last=False)
        return None

    async def complete(self, key: str, record: IdempotencyRecord) -> None:
        self._records[key] = (time.time() + self._ttl_s, record)

    async def release(self, key: str) -> None:
        self._records.pop(key, None)


class NatsIdempotencyStore:
    """Records in the KV bucket (`ttl` = the replay window); the pending marker expires by itself
    (per-message TTL) if the gateway that reserved it dies."""

    def __init__(self, kv: KeyValue, pending_s: float, timeout_s: float = 5.0) -> None:
        self._kv = kv
        self._pending_s = pending_s
        self._timeout_s = timeout_s

    @classmethod
    async def open(cls, js: JetStreamContext, bucket: str, ttl_s: float, pending_s: float) -> NatsIdempotencyStore:
        try:
            kv = await js.key_value(bucket)
        except BucketNotFoundError:
            try:
                kv = await js.create_key_value(bucket=bucket, ttl=ttl_s, history=1,
                                               description="Idempotency-Key responses of the gateway")
            except Exception:  # another replica created it at the same moment
                kv = await js.key_value(bucket)
        return cls(kv, pending_s)

    async def reserve(self, key: str, fingerprint: str) -> IdempotencyRecord | None:
        pending = IdempotencyRecord(fingerprint, "pending", time.time())
        for _ in range(3):
            try:
                await asyncio.wait_for(
                    self._kv.create(key, pending.to_bytes(), msg_ttl=self._pending_s), self._timeout_s)
            except KeyWrongLastSequenceError:
                try:
                    entry = await asyncio.wait_for(self._kv.get(key), self._timeout_s)
                except KeyNotFoundError:
                    continue  # released or expired in between: try to claim it again
                return IdempotencyRecord.from_bytes(entry.value or b"{}")
            return None
        raise RuntimeError("could not reserve the idempotency key")

    async def complete(self, key: str, record: IdempotencyRecord) -> None:
        await asyncio.wait_for(self._kv.put(key, record.to_bytes()), self._timeout_s)

    async def release(self, key: str) -> None:
        await asyncio.wait_for(self._kv.delete(key), self._timeout_s)
