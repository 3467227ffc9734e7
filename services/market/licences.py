"""Licence trades: a request holds its offer from the buyer; the author accepts (the hold pays the
author, a certificate is signed) or declines (the hold goes back). Works' licences themselves stay
in community: the market only asks community who a work's author is (`works.get` as the buyer, so a
work the buyer cannot see is a 404).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
from nats.aio.client import Client as NATS

from services.market import ledger, peers, store
from services.market.certificates import Signer
from services.market.settings import MarketSettings
from shared.contracts import community
from shared.contracts import market as m
from shared.contracts.events.catalog import LicenceIssued, LicenceRequestDecided, LicenceRequested
from shared.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PaymentRequired,
    Unprocessable,
)
from shared.ids import is_ulid, new_id
from shared.logging import get_logger
from shared.messaging.publisher import event_in_context
from shared.outbox import enqueue

log = get_logger(__name__)
SCHEMA = ledger.SCHEMA


def _cursor(cursor: str | None) -> str | None:
    if cursor is not None and not is_ulid(cursor):
        raise BadRequest("the cursor is not valid")
    return cursor


@dataclass
class Licences:
    settings: MarketSettings
    pool: asyncpg.Pool
    nc: NATS
    signer: Signer

    async def _author_of(self, buyer_id: str, work_id: str) -> str:
        work = await peers.ask(self.nc, community.WORKS_GET, {"id": work_id}, actor_id=buyer_id,
                               timeout_s=self.settings.market_community_timeout_s, missing=f"no work {work_id!r}",
                               peer="community")
        return str(work.author.id)

    async def _request(self, conn: asyncpg.Connection | asyncpg.Pool, request_id: str,
                       *, for_update: bool = False) -> dict[str, Any] | None:
        return await store.get_licence_request(conn, request_id, for_update=for_update) \
            if is_ulid(request_id) else None

    async def request(self, buyer_id: str, body: m.LicenceRequestCreate, idempotency_key: str | None) -> dict[str, Any]:
        if idempotency_key:
            earlier = await store.licence_request_by_key(self.pool, buyer_id, idempotency_key)
            if earlier:
                found = await self._request(self.pool, earlier)
                assert found is not None
                return found
        author_id = await self._author_of(buyer_id, body.id)
        if author_id == buyer_id:
            raise Unprocessable("this is your own work: you need no licence for it",
                                errors=[{"field": "id", "message": "your own work"}])
        request_id = new_id()
        key = f"offer:{request_id}"
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await ledger.open_account(conn, buyer_id, self.settings.market_starting_grant)
                if body.offer_credits > 0:
                    await ledger.lock(conn, ledger.spendable(buyer_id))
                    available = await ledger.balance(conn, ledger.spendable(buyer_id))
                    if available < body.offer_credits:
                        raise PaymentRequired(f"you offer {body.offer_credits} credits and have {available}",
                                              extra={"balance": available, "needed": body.offer_credits})
                await store.insert_licence_request(conn, request_id, body.id, buyer_id, author_id, body.scope,
                                                   body.terms, body.offer_credits, idempotency_key)
                await ledger.post(conn, key, "offer", request_id, [(ledger.spendable(buyer_id), -body.offer_credits),
                                                                   (ledger.held(buyer_id), body.offer_credits)])
                await enqueue(conn, SCHEMA, event_in_context(LicenceRequested(
                    request_id=request_id, work_id=body.id, buyer_id=buyer_id, author_id=author_id,
                    scope=body.scope, offer_credits=body.offer_credits), service=SCHEMA, subject_id=request_id))
        except asyncpg.UniqueViolationError:  # the same Idempotency-Key raced in twice
            earlier = await store.licence_request_by_key(self.pool, buyer_id, idempotency_key)
            if not earlier:
                raise
            request_id = earlier
        found = await self._request(self.pool, request_id)
        assert found is not None
        log.info("market.licence.requested", request_id=request_id, work_id=body.id, offer=body.offer_credits)
        return found

    async def list_requests(self, actor_id: str, query: m.LicenceRequestQuery) -> dict[str, Any]:
        rows = await store.licence_requests_of(self.pool, actor_id, incoming=query.direction == "incoming",
                                               before=_cursor(query.cursor), limit=query.limit + 1)
        page = rows[: query.limit]
        return {"items": page, "next_cursor": page[-1]["id"] if len(rows) > query.limit else None}

    async def decide(self, actor_id: str, request_id: str, accept: bool) -> dict[str, Any]:
        async with self.pool.acquire() as conn, conn.transaction():
            r = await self._request(conn, request_id, for_update=True)
            if r is None or r["author_id"] != actor_id:
                raise NotFound(f"no licence request {request_id!r} on your works")
            if r["status"] != "pending":
                raise Conflict(f"this request was already {r['status']}", extra={"request_status": r["status"]})
            offer, buyer = int(r["offer_credits"]), r["buyer_id"]
            status: Literal["accepted", "declined"] = "accepted" if accept else "declined"
            if accept:
                await ledger.open_account(conn, actor_id, self.settings.market_starting_grant)
                await ledger.post(conn, f"pay:{request_id}", "pay", request_id,
                                  [(ledger.held(buyer), -offer), (ledger.spendable(actor_id), offer)])
                await self._issue(conn, r)
            else:
                await ledger.post(conn, f"refund:{request_id}", "refund", request_id,
                                  [(ledger.held(buyer), -offer), (ledger.spendable(buyer), offer)])
            await store.decide_licence_request(conn, request_id, status)
            await enqueue(conn, SCHEMA, event_in_context(LicenceRequestDecided(
                request_id=request_id, work_id=r["work_id"], buyer_id=buyer, author_id=actor_id, status=status),
                service=SCHEMA, subject_id=request_id))
        log.info("market.licence_request.decided", request_id=request_id, status=status)
        decided = await self._request(self.pool, request_id)
        assert decided is not None
        return decided

    async def _issue(self, conn: asyncpg.Connection, r: dict[str, Any]) -> None:
        licence_id = new_id()
        issued_at = datetime.now(UTC).replace(microsecond=0)
        claims = {"jti": licence_id, "iat": int(issued_at.timestamp()), "issued_at": issued_at.isoformat(),
                  "request_id": r["id"], "work_id": r["work_id"], "licensor_id": r["author_id"],
                  "licensee_id": r["buyer_id"], "scope": r["scope"], "terms": r["terms"],
                  "price": int(r["offer_credits"])}
        jws = self.signer.sign(claims)
        await store.insert_licence(conn, licence_id, r, issued_at, jws)
        await enqueue(conn, SCHEMA, event_in_context(LicenceIssued(
            licence_id=licence_id, request_id=r["id"], work_id=r["work_id"], licensor_id=r["author_id"],
            licensee_id=r["buyer_id"], scope=r["scope"], price=int(r["offer_credits"]), issued_at=issued_at),
            service=SCHEMA, subject_id=licence_id))

    async def list_licences(self, actor_id: str, query: m.LicencesQuery) -> dict[str, Any]:
        rows = await store.licences_of(self.pool, actor_id, before=_cursor(query.cursor), limit=query.limit + 1)
        page = rows[: query.limit]
        return {"items": page, "next_cursor": page[-1]["id"] if len(rows) > query.limit else None}

    async def certificate(self, actor_id: str, licence_id: str) -> dict[str, Any]:
        row = await store.licence_certificate(self.pool, licence_id) if is_ulid(licence_id) else None
        if row is None or actor_id not in (row["licensor_id"], row["licensee_id"]):
            raise NotFound(f"no licence {licence_id!r} of yours")
        return {"licence_id": row["id"], "jws": row["jws"], "public_key_jwk": self.signer.jwk}

    async def verify(self, body: m.LicenceVerifyBody) -> dict[str, Any]:
        claims, reason = self.signer.verify(body.jws.strip())
        if claims is None:
            return {"valid": False, "claims": None, "reason": reason}
        known = await store.licence_exists(self.pool, str(claims["jti"]))
        if not known:
            return {"valid": False, "claims": None, "reason": "signed by this platform but not on its record"}
        return {"valid": True, "claims": claims, "reason": None}
