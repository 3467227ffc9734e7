"""Priced models and the generations that pay for them: reserve on accept, settle or release once.

- `reserve` (inference's accept path, synchronous): holds price x count from the payer's spendable
  account in their hold account (`reserve:<generation>`), or a 402 with balance and needed.
- `settle` (`inference.generation.completed`): the hold pays price x images made, split between the
  owner and the training set's artists (`settle:<generation>`); anything not made goes back.
- `release` (`inference.generation.failed` / `.canceled`, or inference's own rollback): the hold goes
  back whole (`release:<generation>`).
The reservation row is locked and its status checked in the same transaction as the ledger posting,
and each posting has its unique key: a redelivered event or a retried call moves nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from nats.aio.client import Client as NATS

from services.market import ledger, peers, store
from services.market.settings import MarketSettings
from services.market.split import split_payment
from services.market.store import ReservationRow
from shared.contracts import market as m
from shared.contracts import trainer
from shared.contracts.events.catalog import ModelPriced
from shared.errors import NotFound, PaymentRequired, Unprocessable
from shared.logging import get_logger
from shared.messaging.publisher import event_in_context
from shared.outbox import enqueue

log = get_logger(__name__)


def _free(generation_id: str) -> dict[str, Any]:
    return {"generation_id": generation_id, "status": "free", "amount": 0, "charged": None}


def reservation_view(r: ReservationRow) -> dict[str, Any]:
    return {"generation_id": r.generation_id, "status": r.status, "amount": r.amount, "charged": r.charged}


@dataclass
class Payments:
    settings: MarketSettings
    pool: asyncpg.Pool
    nc: NATS

    # -- credits ---------------------------------------------------------------------------------

    async def credits(self, user_id: str) -> dict[str, Any]:
        async with self.pool.acquire() as conn, conn.transaction():
            await ledger.open_account(conn, user_id, self.settings.market_starting_grant)
            return {"user_id": user_id, "balance": await ledger.balance(conn, ledger.spendable(user_id)),
                    "reserved": await ledger.balance(conn, ledger.held(user_id))}

    async def statement(self, user_id: str, query: m.StatementQuery) -> dict[str, Any]:
        async with self.pool.acquire() as conn, conn.transaction():
            await ledger.open_account(conn, user_id, self.settings.market_starting_grant)
        lines = await ledger.statement(self.pool, user_id, query.cursor, query.limit + 1)
        page = lines[: query.limit]
        return {"items": [vars(line) for line in page],
                "next_cursor": page[-1].id if len(lines) > query.limit else None}

    # -- prices ----------------------------------------------------------------------------------

    async def _model(self, actor_id: str | None, model_id: str) -> trainer.StyleModel:
        model: trainer.StyleModel = await peers.ask(
            self.nc, trainer.MODELS_GET, {"id": model_id}, actor_id=actor_id,
            timeout_s=self.settings.market_trainer_timeout_s, missing=f"no model {model_id!r}", peer="the trainer")
        return model

    async def set_price(self, actor_id: str, body: m.ModelPricingSet) -> dict[str, Any]:
        model = await self._model(actor_id, body.id)
        if model.owner_id != actor_id:
            raise NotFound(f"no model {body.id!r} of yours")
        if model.visibility != "public" and body.price_per_image > 0:
            raise Unprocessable("only a public model can be priced: make it public first (PATCH /v1/models/{id})",
                                errors=[{"field": "price_per_image", "message": "the model is private"}])
        async with self.pool.acquire() as conn, conn.transaction():
            row = await store.set_price(conn, body.id, actor_id, body.price_per_image, body.contributors_share)
            await enqueue(conn, ledger.SCHEMA, event_in_context(ModelPriced(
                model_id=body.id, owner_id=actor_id, price_per_image=row.price_per_image,
                contributors_share=row.contributors_share), service=ledger.SCHEMA, subject_id=body.id))
        log.info("market.model.priced", model_id=body.id, price=row.price_per_image, share=row.contributors_share)
        return vars(row)

    async def get_price(self, model_id: str) -> dict[str, Any]:
        row = await store.get_price(self.pool, model_id)
        if row is None or row.price_per_image == 0:
            raise NotFound(f"model {model_id!r} has no price: generating from it is free")
        return vars(row)

    async def _artists(self, owner_id: str, model_id: str, version: int) -> dict[str, int]:
        """The version's training artists and their images (asked of the trainer once per version)."""
        known = await store.version_artists(self.pool, model_id, version)
        if known is not None:
            return known
        model = await self._model(owner_id, model_id)  # as its owner: the record stays readable if unshared
        artists: dict[str, int] = {}
        for v in model.versions:
            if v.version == version:
                for work in v.training_works:
                    artists[work.author_id] = artists.get(work.author_id, 0) + work.images
        await store.record_version_artists(self.pool, model_id, version, artists)
        return artists

    # -- reservations ----------------------------------------------------------------------------

    async def reserve(self, req: m.ReservationCreate) -> dict[str, Any]:
        earlier = await store.get_reservation(self.pool, req.generation_id)
        if earlier is not None:
            return reservation_view(earlier)
        price = await store.get_price(self.pool, req.model_id)
        if price is None or price.price_per_image == 0 or price.owner_id == req.payer_id:
            return _free(req.generation_id)
        await self._artists(price.owner_id, req.model_id, req.version)  # known before anything is paid
        amount = price.price_per_image * req.count
        payer = ledger.spendable(req.payer_id)
        async with self.pool.acquire() as conn, conn.transaction():
            await ledger.open_account(conn, req.payer_id, self.settings.market_starting_grant)
            await ledger.lock(conn, payer)
            earlier = await store.get_reservation(conn, req.generation_id)
            if earlier is not None:  # the same call raced in twice
                return reservation_view(earlier)
            available = await ledger.balance(conn, payer)
            if available < amount:
                raise PaymentRequired(
                    f"this generation costs {amount} credits ({req.count} x {price.price_per_image}); "
                    f"you have {available}",
                    extra={"balance": available, "needed": amount, "price_per_image": price.price_per_image,
                           "count": req.count})
            row = ReservationRow(
                generation_id=req.generation_id, payer_id=req.payer_id, owner_id=price.owner_id,
                model_id=req.model_id, version=req.version, count=req.count, price_per_image=price.price_per_image,
                contributors_share=price.contributors_share, amount=amount, status="held", charged=None)
            await store.insert_reservation(conn, row)
            await ledger.post(conn, f"reserve:{req.generation_id}", "reserve", req.generation_id,
                              [(payer, -amount), (ledger.held(req.payer_id), amount)])
        log.info("market.reserved", generation_id=req.generation_id, payer_id=req.payer_id, amount=amount)
        return reservation_view(row)

    async def settle(self, generation_id: str, images: int) -> bool:
        """Pay for `images` made; False when there is nothing (left) to settle."""
        async with self.pool.acquire() as conn, conn.transaction():
            r = await store.get_reservation(conn, generation_id, for_update=True)
            if r is None or r.status != "held":
                return False
            artists = await store.version_artists(conn, r.model_id, r.version) or {}
            charged = min(max(images, 0), r.count) * r.price_per_image
            parts = split_payment(charged, r.contributors_share, r.owner_id, artists)
            for user_id in parts:
                await ledger.open_account(conn, user_id, self.settings.market_starting_grant)
            entries = [(ledger.held(r.payer_id), -r.amount), (ledger.spendable(r.payer_id), r.amount - charged)]
            entries += [(ledger.spendable(user_id), credit) for user_id, credit in parts.items()]
            await ledger.post(conn, f"settle:{generation_id}", "settle", generation_id, entries)
            await store.decide_reservation(conn, generation_id, "settled", charged)
        log.info("market.settled", generation_id=generation_id, charged=charged, parts=parts)
        return True

    async def release(self, generation_id: str) -> dict[str, Any] | None:
        """Give a held reservation back whole; the reservation as it now is (None: there was none)."""
        async with self.pool.acquire() as conn, conn.transaction():
            r = await store.get_reservation(conn, generation_id, for_update=True)
            if r is None:
                return None
            if r.status == "held":
                await ledger.post(conn, f"release:{generation_id}", "release", generation_id,
                                  [(ledger.held(r.payer_id), -r.amount), (ledger.spendable(r.payer_id), r.amount)])
                await store.decide_reservation(conn, generation_id, "released", 0)
                log.info("market.released", generation_id=generation_id, amount=r.amount)
        after = await store.get_reservation(self.pool, generation_id)
        return reservation_view(after) if after else None
