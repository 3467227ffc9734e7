"""Handlers of the inference service's contract operations (`shared.contracts.inference`).

Gateway-facing (as the calling user): generations.create/get/cancel/list, outputs.rate/publish, and
provenance.verify (anyone). Internal: ratings.top (the trainer's refine).
"""

from __future__ import annotations

from typing import Any

from services.inference.generations import InferenceService
from shared.contracts import inference as c
from shared.messaging.rpc import Call, RpcServer


def register(rpc: RpcServer, service: InferenceService) -> None:
    async def create(req: c.GenerationCreate, call: Call) -> dict[str, Any]:
        return await service.create(call.actor, req, call.idempotency_key)

    async def get(req: c.GenerationRef, call: Call) -> dict[str, Any]:
        return await service.get(call.actor, req.id)

    async def cancel(req: c.GenerationRef, call: Call) -> dict[str, Any]:
        return await service.cancel(call.actor, req.id)

    async def list_generations(req: c.GenerationListQuery, call: Call) -> dict[str, Any]:
        return await service.list_mine(call.actor, req)

    async def rate(req: c.OutputRatingRequest, call: Call) -> None:
        await service.rate(call.actor, req)

    async def publish(req: c.OutputPublishRequest, call: Call) -> dict[str, Any]:
        return await service.publish(call.actor, req, call.idempotency_key)

    async def verify(req: c.ProvenanceVerifyRequest, _call: Call) -> dict[str, Any]:
        return await service.verify(req)

    async def top(req: c.RatingsTopRequest, _call: Call) -> list[dict[str, Any]]:
        return await service.top_rated(req)

    rpc.serve(c.GENERATIONS_CREATE, create)
    rpc.serve(c.GENERATIONS_GET, get)
    rpc.serve(c.GENERATIONS_CANCEL, cancel)
    rpc.serve(c.GENERATIONS_LIST, list_generations)
    rpc.serve(c.OUTPUTS_RATE, rate)
    rpc.serve(c.OUTPUTS_PUBLISH, publish)
    rpc.serve(c.PROVENANCE_VERIFY, verify)
    rpc.serve(c.RATINGS_TOP, top)
