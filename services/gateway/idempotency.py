"""`Idempotency-Key` on creating POSTs: a retried request gets the first answer back.

Scope: (caller, method, path, key). The same key with the same body replays the stored status and
body (with `Idempotent-Replayed: true`); with another body it is a 422; while the first request
still runs, a 409 with `Retry-After`. Only 2xx answers are stored, so a failed attempt can be
retried with the same key. Anonymous requests are not covered here (their scope could not be
told apart); services that create on behalf of nobody keep their own checks. JSON and form bodies
are fingerprinted by content; streamed uploads (images) by type and length only, because reading
them here would buffer the whole file.

Crashes cost seconds: a reservation is a lease the gateway renews while the request runs (every
third of `lease_s`), so a retry after this gateway died is refused (409) for at most one lease
and then runs once more (the services deduplicate by the key too). When the record store itself
is unreachable the request runs without replay protection (a logged warning, never a 500), and a
record that could not be written or released afterwards is only logged: the lease ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from services.gateway.auth import current_user
from services.gateway.idempotency_store import IdempotencyRecord, IdempotencyStore, StoredResponse
from shared.contracts.common import IDEMPOTENCY_HEADER, check_idempotency_key
from shared.errors import Conflict, Unprocessable
from shared.logging import get_logger

log = get_logger(__name__)

HEADER = IDEMPOTENCY_HEADER
REPLAYED_HEADER = "Idempotent-Replayed"
IDEMPOTENCY_STORE = web.AppKey("idempotency_store", IdempotencyStore)
_HASHED_TYPES = ("application/json", "application/merge-patch+json", "application/x-www-form-urlencoded", "")
_REPLAYED_HEADERS = ("Content-Type", "Location")


def scope_key(user_id: str, method: str, path: str, key: str) -> str:
    """A KV-safe key that keeps users' keys apart."""
    return hashlib.sha256(f"{user_id}\n{method}\n{path}\n{key}".encode()).hexdigest()


async def body_fingerprint(request: web.Request) -> str:
    digest = hashlib.sha256(request.content_type.encode() + b"\n")
    if request.content_type in _HASHED_TYPES:
        digest.update(await request.read())  # cached: the handler reads it again for free
    else:
        digest.update(f"stream:{request.content_length}".encode())
    return digest.hexdigest()


def replay(record: IdempotencyRecord) -> web.Response:
    assert record.response is not None
    stored = record.response
    headers = {**stored.headers, REPLAYED_HEADER: "true"}
    return web.Response(status=stored.status, body=stored.body, headers=headers)


async def _quietly(what: str, step: Awaitable[None]) -> None:
    """A write after the request ran: failing it must not turn the answer into a 500."""
    try:
        await step
    except Exception as exc:
        log.warning("idempotency.store_failed", step=what, error=str(exc) or type(exc).__name__)


async def _renew_lease(store: IdempotencyStore, key: str) -> None:
    """Keep the reservation alive while the request runs; a lost lease is logged and let go."""
    interval = max(store.lease_s / 3, 0.2)
    while True:
        await asyncio.sleep(interval)
        try:
            if not await store.renew(key):
                log.warning("idempotency.lease_lost")
                return
        except Exception as exc:  # the store is unreachable: try again next beat
            log.warning("idempotency.renew_failed", error=str(exc) or type(exc).__name__)


def idempotency_middleware(max_response_bytes: int) -> Callable[..., object]:
    @web.middleware
    async def idempotency(request: web.Request, handler: Handler) -> web.StreamResponse:
        key = request.headers.get(HEADER)
        user = current_user(request)
        if request.method != "POST" or key is None or user is None:
            return await handler(request)
        check_idempotency_key(key)
        store = request.app[IDEMPOTENCY_STORE]
        scoped = scope_key(user.id, request.method, request.path, key)
        fingerprint = await body_fingerprint(request)
        try:
            existing = await store.reserve(scoped, fingerprint)
        except Exception as exc:  # degrade to no replay: the services still deduplicate by key
            log.warning("idempotency.store_unavailable", error=str(exc) or type(exc).__name__)
            return await handler(request)
        if existing is not None:
            if existing.fingerprint != fingerprint:
                raise Unprocessable(f"this {HEADER} was already used with a different request body",
                                    errors=[{"field": HEADER, "message": "reused with another body"}])
            if existing.state == "done" and existing.response is not None:
                return replay(existing)
            raise Conflict(f"a request with this {HEADER} is still in progress", headers={"Retry-After": "1"})
        lease = asyncio.create_task(_renew_lease(store, scoped), name="idempotency-lease")
        try:
            response = await handler(request)
        except BaseException:
            lease.cancel()
            await _quietly("release", store.release(scoped))
            raise
        finally:
            lease.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lease
        body = response.body if isinstance(response, web.Response) else None
        if 200 <= response.status < 300 and isinstance(body, bytes) and len(body) <= max_response_bytes:
            headers = {h: response.headers[h] for h in _REPLAYED_HEADERS if h in response.headers}
            await _quietly("complete", store.complete(scoped, IdempotencyRecord(
                fingerprint, "done", time.time(), StoredResponse(response.status, body, headers))))
        else:
            await _quietly("release", store.release(scoped))
        return response

    return idempotency
