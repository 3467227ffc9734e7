"""NATS endpoints of the trainer (`svc.trainer.<operation>`), all acting as the calling user:
`models.create`, `models.get`, `models.list`, `models.cancel`, `models.refine`."""

from __future__ import annotations

from typing import Any

from services.trainer.schemas import ListQuery, ModelCreate, ModelRef, RefineRequest
from services.trainer.service import ModelService
from shared.messaging.rpc import RpcRequest, RpcServer

IDEMPOTENCY_KEY = "Idempotency-Key"


def _idempotency_key(req: RpcRequest) -> str | None:
    key = (req.headers.get(IDEMPOTENCY_KEY) or "").strip()
    return key[:200] or None


def register(rpc: RpcServer, service: ModelService) -> None:
    @rpc.endpoint("models.create")
    async def create(req: RpcRequest) -> dict[str, Any]:
        return await service.create(req.require_actor(), req.parse(ModelCreate), _idempotency_key(req))

    @rpc.endpoint("models.get")
    async def get(req: RpcRequest) -> dict[str, Any]:
        return await service.get(req.require_actor(), req.parse(ModelRef).id)

    @rpc.endpoint("models.list")
    async def list_models(req: RpcRequest) -> dict[str, Any]:
        return await service.list_mine(req.require_actor(), req.parse(ListQuery))

    @rpc.endpoint("models.cancel")
    async def cancel(req: RpcRequest) -> dict[str, Any]:
        return await service.cancel(req.require_actor(), req.parse(ModelRef).id)

    @rpc.endpoint("models.refine")
    async def refine(req: RpcRequest) -> dict[str, Any]:
        return await service.refine(req.require_actor(), req.parse(RefineRequest))
