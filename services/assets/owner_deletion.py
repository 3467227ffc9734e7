"""When an account is deleted (`community.user.deleted`), delete every asset of that user: the
rows with their `assets.asset.deleted` events, then the originals and thumbnails, then anything
left under the user's object prefixes (staged uploads, objects of a write that lost its row).

Idempotent: a redelivered event finds nothing left to delete. Assets of other users are never
touched, so generations others made with the user's models stay theirs.
"""

from __future__ import annotations

from aiohttp import web
from nats.aio.msg import Msg

from services.assets import object_keys as keys
from services.assets.events import deleted_event
from services.assets.service import SCHEMA, AssetService, checked_owner
from services.assets.store import delete_owned
from shared.contexts import JS, NC
from shared.contracts.events.catalog import UserDeleted
from shared.contracts.events.envelope import CloudEvent
from shared.errors import Unprocessable
from shared.logging import get_logger
from shared.messaging.consumer import ConsumerSpec, JetStreamConsumer, Poison
from shared.outbox import enqueue

log = get_logger(__name__)
OWNER_DELETED_CONSUMER = ConsumerSpec(stream="COMMUNITY", durable="assets-owner-deleted",
                                      filter_subject=UserDeleted.subject, ack_wait_s=120.0)
BATCH = 200


async def delete_owner(service: AssetService, owner_id: str) -> int:
    """Delete all of `owner_id`'s assets and objects; returns how many assets were deleted."""
    try:
        owner = checked_owner(owner_id)
    except Unprocessable:
        raise Poison(f"not an owner id: {owner_id!r}") from None
    deleted = 0
    while True:
        async with service.pool.acquire() as conn, conn.transaction():
            rows = await delete_owned(conn, owner, BATCH)
            for row in rows:
                await enqueue(conn, SCHEMA, deleted_event(row))
        for row in rows:
            await service.objects.delete(row.object_key, row.thumbnail_key)
        deleted += len(rows)
        if len(rows) < BATCH:
            break
    prefixes = (keys.original_key(owner, ""), keys.thumbnail_key(owner, "").removesuffix(".webp"),
                keys.staging_key(owner, ""))
    leftovers = 0
    for prefix in prefixes:
        leftovers += await service.objects.delete_older_than(prefix, -60.0)
    log.info("assets.owner.deleted", owner_id=owner, assets=deleted, leftover_objects=leftovers)
    return deleted


def owner_deletion_consumer(app: web.Application, service: AssetService) -> JetStreamConsumer:
    async def on_user_deleted(event: CloudEvent, msg: Msg) -> None:
        payload = event.payload()
        if isinstance(payload, UserDeleted):
            await delete_owner(service, payload.user_id)

    return JetStreamConsumer(app[NC], app[JS], OWNER_DELETED_CONSUMER, on_user_deleted)
