"""Delivery workers: claim due deliveries from PostgreSQL (`FOR UPDATE SKIP LOCKED` with a lease,
so replicas share the work and a dead worker's claims come back after the lease, a few seconds: it is
renewed every third of it while the attempts run), and run one task
per delivery under a process-wide semaphore with at most `per_endpoint_concurrency` attempts per
endpoint at once: an endpoint at its cap is left out of the next claim, so a slow or dead endpoint
holds only its own slots and never delays the others. Every attempt has a short total timeout.

A failed attempt is due again after the next wait of the retry schedule (± jitter); when the
schedule is spent the delivery fails and its endpoint is disabled, announced by
`webhooks.endpoint.disabled` (outbox, same transaction). A manual retry makes one attempt only.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter

import aiohttp
import asyncpg
from prometheus_client import Counter as PromCounter
from prometheus_client import Histogram

from services.webhooks import store
from services.webhooks.events import endpoint_disabled
from services.webhooks.settings import WebhooksSettings
from services.webhooks.signing import signed_headers
from services.webhooks.url_policy import GuardedResolver, RefusedAddress, check_target
from shared.logging import get_logger

log = get_logger(__name__)
ATTEMPTS = PromCounter("atelier_webhook_attempts_total", "Webhook delivery attempts", ["outcome"])
LATENCY = Histogram("atelier_webhook_attempt_seconds", "Duration of webhook delivery attempts")
ERROR_MAX = 300


def retry_wait(settings: WebhooksSettings, attempts_made: int) -> float | None:
    """Seconds until the next attempt after `attempts_made` failed ones; None: the schedule is spent."""
    schedule = settings.webhooks_retry_schedule_s
    if attempts_made > len(schedule):
        return None
    jitter = settings.webhooks_retry_jitter
    return max(0.0, schedule[attempts_made - 1] * (1 + random.uniform(-jitter, jitter)))


def client_session(settings: WebhooksSettings) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(settings), limit=settings.webhooks_max_concurrent,
                                     ttl_dns_cache=10)
    return aiohttp.ClientSession(connector=connector, trust_env=False, auto_decompress=False,
                                 timeout=aiohttp.ClientTimeout(total=settings.webhooks_delivery_timeout_s,
                                                               connect=settings.webhooks_connect_timeout_s))


class Dispatcher:
    def __init__(self, settings: WebhooksSettings, pool: asyncpg.Pool, session: aiohttp.ClientSession) -> None:
        self._settings = settings
        self._pool = pool
        self._session = session
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._inflight: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._renew_task: asyncio.Task[None] | None = None
        self._held: set[str] = set()  # deliveries claimed by this process and not settled yet

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="webhooks:dispatcher")
        self._renew_task = asyncio.create_task(self._renew(), name="webhooks:leases")

    async def stop(self, timeout_s: float) -> None:
        self._stopping.set()
        self._wake.set()
        if self._loop_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._tasks:  # attempts in flight finish within their timeout; the rest come back after the lease
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout_s)
            for task in pending:
                task.cancel()
        if self._renew_task is not None:
            self._renew_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renew_task

    async def _renew(self) -> None:
        """Keep the leases of the attempts in flight; a failed renewal (the database away) is retried
        at the next beat, and at worst another replica attempts the delivery too (same webhook-id)."""
        lease_s = self._settings.lease_s
        while True:
            await asyncio.sleep(lease_s / 3)
            if not self._held:
                continue
            try:
                await store.renew_claims(self._pool, sorted(self._held), lease_s)
            except Exception as exc:
                log.warning("webhooks.renew_failed", error=f"{type(exc).__name__}: {exc}"[:200])

    async def _run(self) -> None:
        settings = self._settings
        while not self._stopping.is_set():
            self._wake.clear()
            claimed = 0
            capacity = settings.webhooks_max_concurrent - sum(self._inflight.values())
            if capacity > 0:
                try:
                    claimed = await self._claim(min(capacity, settings.webhooks_claim_batch))
                except Exception as exc:  # the database is away: try again shortly
                    log.warning("webhooks.claim_failed", error=f"{type(exc).__name__}: {exc}"[:200])
            if claimed and claimed == min(capacity, settings.webhooks_claim_batch):
                continue  # there may be more due right now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), settings.webhooks_poll_interval_s)

    async def _claim(self, limit: int) -> int:
        cap = self._settings.webhooks_per_endpoint_concurrency
        busy = [endpoint for endpoint, n in self._inflight.items() if n >= cap]
        due = await store.claim_due(self._pool, limit, self._settings.lease_s, busy)
        extra = []
        for item in due:
            if self._inflight[item.endpoint_id] >= cap:
                extra.append(item.id)  # this claim took more of one endpoint than its slots
                continue
            self._inflight[item.endpoint_id] += 1
            self._held.add(item.id)
            task = asyncio.create_task(self._deliver(item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if extra:
            await self._pool.execute("UPDATE deliveries SET locked_until = NULL WHERE id = ANY($1::text[])", extra)
        return len(due)

    async def _deliver(self, due: store.Due) -> None:
        try:
            await self.attempt(due)
        except Exception:
            log.exception("webhooks.attempt_crashed", delivery_id=due.id)
        finally:
            self._held.discard(due.id)
            self._inflight[due.endpoint_id] -= 1
            if self._inflight[due.endpoint_id] <= 0:
                del self._inflight[due.endpoint_id]
            self._wake.set()

    async def attempt(self, due: store.Due) -> None:
        settings = self._settings
        secrets = [due.secret, *([due.previous_secret] if due.previous_secret else [])]
        status: int | None = None
        error = ""
        began = time.perf_counter()
        try:
            check_target(due.url, settings)
            headers = signed_headers(due.id, due.body, secrets)
            async with self._session.post(due.url, data=due.body.encode(), headers=headers,
                                          allow_redirects=False) as response:
                status = response.status
                await response.content.read(settings.webhooks_response_body_max)
        except RefusedAddress as exc:
            error = f"refused: {exc}"
        except TimeoutError:
            error = f"timed out after {settings.webhooks_delivery_timeout_s:g} s"
        except (aiohttp.ClientError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        latency_ms = (time.perf_counter() - began) * 1000
        LATENCY.observe(latency_ms / 1000)
        if status is not None and 200 <= status < 300:
            ATTEMPTS.labels("succeeded").inc()
            await store.record_success(self._pool, due.id, status, latency_ms)
            return
        ATTEMPTS.labels("failed").inc()
        if status is not None:
            error = f"answered {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
        await self._failed(due, status, error[:ERROR_MAX], latency_ms)

    async def _failed(self, due: store.Due, status: int | None, error: str, latency_ms: float) -> None:
        wait = None if due.manual else retry_wait(self._settings, due.attempts + 1)
        async with self._pool.acquire() as conn, conn.transaction():
            await store.record_failure(conn, due.id, status, error, latency_ms, wait)
            if wait is not None and wait < self._settings.webhooks_poll_interval_s:
                asyncio.get_running_loop().call_later(wait, self.wake)  # sooner than the next poll
            if wait is None and not due.manual:
                reason = f"{due.attempts + 1} attempts of delivery {due.id} failed; the last one: {error}"
                row = await store.disable_endpoint(conn, due.endpoint_id, reason[:ERROR_MAX])
                if row is not None:
                    await endpoint_disabled(conn, row, reason[:ERROR_MAX], due.id)
                    log.warning("webhooks.endpoint_disabled", endpoint_id=due.endpoint_id, delivery_id=due.id)
