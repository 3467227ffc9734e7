"""Endpoint management as the calling user: create (secret shown once), list, get, update, delete,
rotate the secret, send a test event, list and retry deliveries. Someone else's endpoint is a 404."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import asyncpg

from services.webhooks import store
from services.webhooks.events import test_event_body
from services.webhooks.settings import WebhooksSettings
from services.webhooks.url_policy import check_url
from shared.contracts import webhooks as w
from shared.contracts.common import patch_fields
from shared.errors import Conflict, NotFound, TooManyRequests
from shared.ids import new_id

SECRET_BYTES = 32


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _missing(endpoint_id: str) -> NotFound:
    return NotFound(f"no webhook endpoint {endpoint_id}")


class Endpoints:
    def __init__(self, settings: WebhooksSettings, pool: asyncpg.Pool, wake: Any) -> None:
        self.settings = settings
        self.pool = pool
        self._wake = wake  # called when deliveries became due now

    async def create(self, owner_id: str, req: w.EndpointCreate) -> w.EndpointCreated:
        await check_url(req.url, self.settings)
        limit = self.settings.webhooks_max_endpoints_per_user
        secret = new_secret()
        async with self.pool.acquire() as conn, conn.transaction():
            await store.lock_owner(conn, owner_id)
            if (count := await store.count_endpoints(conn, owner_id)) >= limit:
                # A quota like the others: 429 with the limit and Retry-After (it frees when one is deleted).
                raise TooManyRequests(f"you have {count} webhook endpoints, the most allowed is {limit}: "
                                      "delete one first",
                                      extra={"quota": "webhook_endpoints", "limit": limit, "endpoints": count,
                                             "retry_after_s": self.settings.webhooks_limit_retry_after_s})
            row = await store.insert_endpoint(conn, new_id(), owner_id, req.url, req.description,
                                              req.event_types, secret)
        return w.EndpointCreated(**store.endpoint_view(row), secret=secret)

    async def get(self, owner_id: str, endpoint_id: str) -> w.Endpoint:
        row = await store.get_endpoint(self.pool, owner_id, endpoint_id)
        if row is None:
            raise _missing(endpoint_id)
        return w.Endpoint(**store.endpoint_view(row))

    async def list(self, owner_id: str, req: w.EndpointListQuery) -> w.EndpointListing:
        rows = await store.list_endpoints(self.pool, owner_id, req.limit, req.cursor)
        items = [w.Endpoint(**store.endpoint_view(r)) for r in rows]
        return w.EndpointListing(items=items, next_cursor=items[-1].id if len(items) == req.limit else None)

    async def update(self, owner_id: str, req: w.EndpointUpdate) -> w.Endpoint:
        fields = patch_fields(req)
        if "url" in fields:
            await check_url(fields["url"], self.settings)
        enabled = fields.pop("enabled", None)
        if enabled is not None:
            fields["status"] = "enabled" if enabled else "disabled"
            fields["disabled_reason"] = None if enabled else "disabled by its owner"
        async with self.pool.acquire() as conn, conn.transaction():
            row = await store.update_endpoint(conn, owner_id, req.id, fields)
        if row is None:
            raise _missing(req.id)
        if enabled:
            self._wake()
        return w.Endpoint(**store.endpoint_view(row))

    async def delete(self, owner_id: str, endpoint_id: str) -> w.Deleted:
        if not await store.delete_endpoint(self.pool, owner_id, endpoint_id):
            raise _missing(endpoint_id)
        return w.Deleted(id=endpoint_id)

    async def rotate(self, owner_id: str, endpoint_id: str) -> w.SecretRotated:
        secret = new_secret()
        async with self.pool.acquire() as conn, conn.transaction():
            row = await store.rotate_secret(conn, owner_id, endpoint_id, secret, self.settings.webhooks_secret_grace_s)
        if row is None:
            raise _missing(endpoint_id)
        return w.SecretRotated(**store.endpoint_view(row), secret=secret)

    async def test(self, owner_id: str, endpoint_id: str) -> w.Delivery:
        async with self.pool.acquire() as conn, conn.transaction():
            if await store.get_endpoint(conn, owner_id, endpoint_id) is None:
                raise _missing(endpoint_id)
            event_id, body = test_event_body(endpoint_id, owner_id)
            delivery_id = new_id()
            await store.insert_deliveries(conn, [(delivery_id, endpoint_id, event_id, w.TEST_EVENT, body)])
            row = await store.get_delivery(conn, endpoint_id, delivery_id)
        assert row is not None
        self._wake()
        return w.Delivery(**dict(row))

    async def deliveries(self, owner_id: str, req: w.DeliveryListQuery) -> w.DeliveryListing:
        if await store.get_endpoint(self.pool, owner_id, req.id) is None:
            raise _missing(req.id)
        rows = await store.list_deliveries(self.pool, req.id, req.status, req.limit, req.cursor)
        items = [w.Delivery(**dict(r)) for r in rows]
        return w.DeliveryListing(items=items, next_cursor=items[-1].id if len(items) == req.limit else None)

    async def replay(self, owner_id: str, req: w.EndpointReplay) -> w.Replayed:
        async with self.pool.acquire() as conn, conn.transaction():
            await _enabled_endpoint(conn, owner_id, req.id)
            count = await store.replay(conn, req.id, req.since, w.MAX_REPLAY)
        if count:
            self._wake()
        return w.Replayed(id=req.id, since=req.since, replayed=count)

    async def retry(self, owner_id: str, req: w.DeliveryRef) -> w.Delivery:
        async with self.pool.acquire() as conn, conn.transaction():
            await _enabled_endpoint(conn, owner_id, req.id)
            row = await store.retry_now(conn, req.id, req.delivery_id)
        if row is None:
            raise NotFound(f"no delivery {req.delivery_id} for endpoint {req.id}")
        self._wake()
        return w.Delivery(**dict(row))


async def _enabled_endpoint(conn: asyncpg.Connection, owner_id: str, endpoint_id: str) -> None:
    """The caller's own endpoint, enabled: someone else's or a missing one is a 404, a disabled one a 409."""
    endpoint = await store.get_endpoint(conn, owner_id, endpoint_id)
    if endpoint is None:
        raise _missing(endpoint_id)
    if endpoint["status"] != "enabled":
        raise Conflict("the endpoint is disabled: enable it first (PATCH {\"enabled\": true})")
