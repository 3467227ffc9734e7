"""Reservations nobody decided: the generation was never created (inference's commit failed after the
reservation, or the market died before answering and inference's release could not reach it).

Every `market_sweep_interval_s` the reservations held longer than `market_sweep_after_s` are looked
up at inference (`generations.get` as their payer): a generation that does not exist, failed or was
canceled releases its reservation; one that succeeded settles it (its completed event is also on
its way: whichever comes first decides, the other moves nothing). A generation still queued or
running keeps its hold. Settling and releasing are the same exactly-once operations the event
consumer uses.
"""

from __future__ import annotations

import asyncio
import contextlib

from services.market.payments import Payments
from shared.contracts import inference
from shared.errors import AtelierError, NotFound
from shared.logging import get_logger
from shared.messaging.rpc import call

log = get_logger(__name__)


class Sweeper:
    def __init__(self, payments: Payments) -> None:
        self.payments = payments
        self.settings = payments.settings
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="market-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.market_sweep_interval_s)
            try:
                await self.sweep_once()
            except Exception as exc:  # the database or NATS is away: try again next round
                log.warning("market.sweep.failed", error=str(exc) or type(exc).__name__)

    async def sweep_once(self) -> int:
        """Decide the stale reservations that can be decided; returns how many were."""
        rows = await self.payments.pool.fetch(
            "SELECT generation_id, payer_id FROM reservations WHERE status = 'held'"
            " AND created_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT 100",
            self.settings.market_sweep_after_s)
        decided = 0
        for row in rows:
            generation_id, payer_id = row["generation_id"], row["payer_id"]
            try:
                gen = await call(self.payments.nc, inference.GENERATIONS_GET, {"id": generation_id},
                                 actor_id=payer_id, timeout=self.settings.market_inference_timeout_s)
            except NotFound:
                await self.payments.release(generation_id)
                log.info("market.sweep.released_orphan", generation_id=generation_id)
                decided += 1
                continue
            except AtelierError as exc:
                log.info("market.sweep.inference_unavailable", status=exc.status)
                return decided
            if gen.status == "succeeded":
                decided += await self.payments.settle(generation_id, len(gen.outputs))
            elif gen.status in ("failed", "canceled"):
                decided += (await self.payments.release(generation_id)) is not None
        return decided
