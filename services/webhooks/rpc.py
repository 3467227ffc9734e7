"""The webhooks service's contract operations (`shared.contracts.webhooks`), all as the calling user."""

from __future__ import annotations

from services.webhooks.endpoints import Endpoints
from shared.contracts import webhooks as w
from shared.messaging.rpc import Call, RpcServer


def register(rpc: RpcServer, endpoints: Endpoints) -> None:
    async def create(req: w.EndpointCreate, call: Call) -> w.EndpointCreated:
        return await endpoints.create(call.actor, req)

    async def list_endpoints(req: w.EndpointListQuery, call: Call) -> w.EndpointListing:
        return await endpoints.list(call.actor, req)

    async def get(req: w.EndpointRef, call: Call) -> w.Endpoint:
        return await endpoints.get(call.actor, req.id)

    async def update(req: w.EndpointUpdate, call: Call) -> w.Endpoint:
        return await endpoints.update(call.actor, req)

    async def delete(req: w.EndpointRef, call: Call) -> w.Deleted:
        return await endpoints.delete(call.actor, req.id)

    async def rotate(req: w.EndpointRef, call: Call) -> w.SecretRotated:
        return await endpoints.rotate(call.actor, req.id)

    async def test(req: w.EndpointRef, call: Call) -> w.Delivery:
        return await endpoints.test(call.actor, req.id)

    async def replay(req: w.EndpointReplay, call: Call) -> w.Replayed:
        return await endpoints.replay(call.actor, req)

    async def deliveries(req: w.DeliveryListQuery, call: Call) -> w.DeliveryListing:
        return await endpoints.deliveries(call.actor, req)

    async def retry(req: w.DeliveryRef, call: Call) -> w.Delivery:
        return await endpoints.retry(call.actor, req)

    rpc.serve(w.ENDPOINTS_CREATE, create)
    rpc.serve(w.ENDPOINTS_LIST, list_endpoints)
    rpc.serve(w.ENDPOINTS_GET, get)
    rpc.serve(w.ENDPOINTS_UPDATE, update)
    rpc.serve(w.ENDPOINTS_DELETE, delete)
    rpc.serve(w.ENDPOINTS_ROTATE, rotate)
    rpc.serve(w.ENDPOINTS_TEST, test)
    rpc.serve(w.ENDPOINTS_REPLAY, replay)
    rpc.serve(w.DELIVERIES_LIST, deliveries)
    rpc.serve(w.DELIVERIES_RETRY, retry)
