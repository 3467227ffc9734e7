"""The market's contract operations (`shared.contracts.market`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.market.licences import Licences
from services.market.payments import Payments
from shared.contracts import market as m
from shared.messaging.rpc import Call, RpcServer


@dataclass
class Market:
    payments: Payments
    licences: Licences


def register(rpc: RpcServer, market: Market) -> None:
    pay, lic = market.payments, market.licences

    async def credits(_req: m.CreditsQuery, call: Call) -> dict[str, Any]:
        return await pay.credits(call.actor)

    async def statement(req: m.StatementQuery, call: Call) -> dict[str, Any]:
        return await pay.statement(call.actor, req)

    async def set_price(req: m.ModelPricingSet, call: Call) -> dict[str, Any]:
        return await pay.set_price(call.actor, req)

    async def get_price(req: m.ModelRef, _call: Call) -> dict[str, Any]:
        return await pay.get_price(req.id)

    async def reserve(req: m.ReservationCreate, _call: Call) -> dict[str, Any]:
        return await pay.reserve(req)

    async def release(req: m.ReservationRef, _call: Call) -> dict[str, Any]:
        released = await pay.release(req.generation_id)
        if released is None:
            return {"generation_id": req.generation_id, "status": "free", "amount": 0, "charged": None}
        return released

    async def request(req: m.LicenceRequestCreate, call: Call) -> dict[str, Any]:
        return await lic.request(call.actor, req, call.idempotency_key)

    async def requests(req: m.LicenceRequestQuery, call: Call) -> dict[str, Any]:
        return await lic.list_requests(call.actor, req)

    async def accept(req: m.LicenceRequestRef, call: Call) -> dict[str, Any]:
        return await lic.decide(call.actor, req.id, accept=True)

    async def decline(req: m.LicenceRequestRef, call: Call) -> dict[str, Any]:
        return await lic.decide(call.actor, req.id, accept=False)

    async def licences(req: m.LicencesQuery, call: Call) -> dict[str, Any]:
        return await lic.list_licences(call.actor, req)

    async def certificate(req: m.LicenceRef, call: Call) -> dict[str, Any]:
        return await lic.certificate(call.actor, req.id)

    async def verify(req: m.LicenceVerifyBody, _call: Call) -> dict[str, Any]:
        return await lic.verify(req)

    rpc.serve(m.CREDITS_GET, credits)
    rpc.serve(m.CREDITS_STATEMENT, statement)
    rpc.serve(m.PRICING_SET, set_price)
    rpc.serve(m.PRICING_GET, get_price)
    rpc.serve(m.RESERVATIONS_CREATE, reserve)
    rpc.serve(m.RESERVATIONS_RELEASE, release)
    rpc.serve(m.LICENCE_REQUESTS_CREATE, request)
    rpc.serve(m.LICENCE_REQUESTS_LIST, requests)
    rpc.serve(m.LICENCE_REQUESTS_ACCEPT, accept)
    rpc.serve(m.LICENCE_REQUESTS_DECLINE, decline)
    rpc.serve(m.LICENCES_LIST, licences)
    rpc.serve(m.LICENCES_CERTIFICATE, certificate)
    rpc.serve(m.LICENCES_VERIFY, verify)


