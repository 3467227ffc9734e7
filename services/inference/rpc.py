"""NATS endpoints of the inference service (`svc.inference.<operation>`).

Gateway-facing (act as the calling user): `generations.create`, `generations.get`,
`generations.list`, `outputs.rate`, `outputs.publish`, `provenance.verify` (anyone).
Internal: `ratings.top` (the trainer's refine).
"""

from __future__ import annotations

from typing import Any

from services.inference.schemas import (
    GenerationCreate,
    GenerationRef,
    ListQuery,
    PublishRequest,
    RatingRequest,
    TopRatedRequest,
    VerifyRequest,
)
from services.inference.service import InferenceService
from shared.messaging.rpc import RpcRequest, RpcServer

IDEMPOTENCY_KEY = "Idempotency-Key"


def _idempotency_key(req: RpcRequest) -> str | None:
    key = (req.headers.get(IDEMPOTENCY_KEY) or "").strip()
    return key[:200] or None


def register(rpc: RpcServer, service: InferenceService) -> None:
    @rpc.endpoint("generations.create")
    async def create(req: RpcRequest) -> dict[str, Any]:
        return await service.create(req.require_actor(), req.parse(GenerationCreate), _idempotency_key(req))

    @rpc.endpoint("generations.get")
    async def get(req: RpcRequest) -> dict[str, Any]:
        return await service.get(req.require_actor(), req.parse(GenerationRef).id)

    @rpc.endpoint("generations.list")
    async def list_generations(req: RpcRequest) -> dict[str, Any]:
        return await service.list_mine(req.require_actor(), req.parse(ListQuery))

    @rpc.endpoint("outputs.rate")
    async def rate(req: RpcRequest) -> None:
        await service.rate(req.require_actor(), req.parse(RatingRequest))

    @rpc.endpoint("outputs.publish")
    async def publish(req: RpcRequest) -> dict[str, Any]:
        return await service.publish(req.require_actor(), req.parse(PublishRequest), _idempotency_key(req))

    @rpc.endpoint("provenance.verify")
    async def verify(req: RpcRequest) -> dict[str, Any]:
        return await service.verify(req.parse(VerifyRequest))

    @rpc.endpoint("ratings.top")
    async def top(req: RpcRequest) -> list[dict[str, Any]]:
        return await service.top_rated(req.parse(TopRatedRequest))
