"""The assets domain: finalise uploads, store generated images, access rules, delete.

Order of effects, so that a rejected or failed request leaves nothing behind: the bytes are
validated first (nothing written yet), then the original and thumbnail objects are written, then
the row and its `assets.asset.stored` event commit together; if the commit fails, the objects
written by this request are removed again. Staged upload bytes are deleted once the upload is
accepted or refused (a transient failure keeps them, so the client can retry `complete`; the
sweeper in app.py removes abandoned ones).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import asyncpg
from nats.aio.client import Client as NATS

from services.assets import object_keys as keys
from services.assets.events import deleted_event, stored_event
from services.assets.image_pipeline import Limits, Processed, process_exact, process_upload
from services.assets.near_duplicates import check_upload
from services.assets.settings import AssetsSettings
from services.assets.store import (
    AssetRow,
    delete_asset,
    find_by_sha256,
    get_asset,
    insert_asset,
    lock_asset,
    shown_to_others,
    stored_bytes,
    works_using,
)
from shared.contracts import community
from shared.contracts.assets import UploadTicket
from shared.errors import (
    AtelierError,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyRequests,
    Unprocessable,
)
from shared.ids import is_ulid, new_id
from shared.logging import get_logger
from shared.messaging.rpc import call
from shared.objectstore import ObjectStore
from shared.outbox import enqueue

log = get_logger(__name__)
SCHEMA = "assets"
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def checked_owner(owner_id: str) -> str:
    """Owner ids become part of object keys: refuse anything that could walk out of a prefix."""
    if not _SAFE_ID.fullmatch(owner_id):
        raise Unprocessable("owner id must be 1-64 letters, digits, '-' or '_'")
    return owner_id


class AssetService:
    def __init__(self, settings: AssetsSettings, pool: asyncpg.Pool, objects: ObjectStore, nc: NATS) -> None:
        self.settings = settings
        self.pool = pool
        self.objects = objects
        self.nc = nc
        self.limits = Limits(settings.max_pixels, settings.thumbnail_size)
        self._cpu = ThreadPoolExecutor(max_workers=settings.processing_workers, thread_name_prefix="images")

    def close(self) -> None:
        self._cpu.shutdown(wait=False, cancel_futures=True)

    async def _process(self, fn: Callable[[bytes, Limits], Processed], data: bytes) -> Processed:
        return await asyncio.get_running_loop().run_in_executor(self._cpu, fn, data, self.limits)

    # -- uploads ---------------------------------------------------------------------------------

    def create_upload(self, owner_id: str, *, direct: bool) -> UploadTicket:
        asset_id = new_id()
        url, expires_at = self.objects.presign_put(keys.staging_key(checked_owner(owner_id), asset_id),
                                                   self.settings.presign_expiry_s, public=direct)
        max_bytes = self.settings.direct_upload_max_bytes if direct else self.settings.upload_max_bytes
        return UploadTicket(asset_id=asset_id, upload_url=url, max_bytes=max_bytes, expires_at=expires_at)

    async def complete_upload(self, owner_id: str, asset_id: str) -> tuple[AssetRow, bool]:
        checked_owner(owner_id)
        if not is_ulid(asset_id):
            raise NotFound("no such upload")
        done = await get_asset(self.pool, asset_id)
        if done is not None:  # `complete` called again: answer as the first time did
            if done.owner_id != owner_id:
                raise NotFound("no such upload")
            return done, False
        staged = keys.staging_key(owner_id, asset_id)
        size = await self.objects.size(staged)
        if size is None:
            raise NotFound("nothing was uploaded for this asset id (or the upload expired)")
        try:
            limit = max(self.settings.upload_max_bytes, self.settings.direct_upload_max_bytes)
            if size > limit:
                raise PayloadTooLarge(f"the file is larger than {limit} bytes")
            if size == 0:
                raise Unprocessable("the file is empty")
            await self._check_stored_bytes(owner_id, size)
            data = await self.objects.read(staged)
            if data is None:  # removed since it was measured (abort, or the sweeper)
                raise NotFound("nothing was uploaded for this asset id (or the upload expired)")
            processed = await self._process(process_upload, data)
            result = await self._save(owner_id, asset_id, "upload", processed, {}, source_key=staged)
        except AtelierError as exc:
            if exc.status < 500:
                await self.objects.delete(staged)
                log.info("assets.upload.rejected", asset_id=asset_id, status=exc.status, reason=exc.detail)
            raise
        await self.objects.delete(staged)
        return result

    async def _check_stored_bytes(self, owner_id: str, size: int) -> None:
        limit = self.settings.quota_stored_bytes_per_user
        used = await stored_bytes(self.pool, owner_id)
        if used + size > limit:
            retry = self.settings.quota_stored_retry_after_s
            raise TooManyRequests(
                f"this upload of {size} bytes would pass your storage quota of {limit} bytes "
                f"({used} used); delete assets you no longer need",
                extra={"quota": "stored_bytes", "limit": limit, "window_s": None, "used": used,
                       "retry_after_s": retry}, headers={"Retry-After": str(retry)})

    async def abort_upload(self, owner_id: str, asset_id: str) -> None:
        if is_ulid(asset_id):
            await self.objects.delete(keys.staging_key(checked_owner(owner_id), asset_id))

    async def store_exact(self, owner_id: str, kind: str, content_type: str, data_b64: str,
                          meta: dict[str, Any]) -> tuple[AssetRow, bool]:
        checked_owner(owner_id)
        try:
            data = base64.b64decode(data_b64, validate=True)
        except (binascii.Error, ValueError):
            raise Unprocessable("data_b64 is not valid base64") from None
        if len(data) > self.settings.upload_max_bytes:
            raise PayloadTooLarge(f"the image is larger than {self.settings.upload_max_bytes} bytes")
        processed = await self._process(process_exact, data)
        if processed.content_type != content_type:
            raise Unprocessable(f"the bytes are {processed.content_type}, not {content_type}")
        return await self._save(owner_id, new_id(), kind, processed, meta, source_key=None)

    async def _save(self, owner_id: str, asset_id: str, kind: str, processed: Processed, meta: dict[str, Any],
                    *, source_key: str | None) -> tuple[AssetRow, bool]:
        existing = await find_by_sha256(self.pool, owner_id, processed.sha256)
        if existing is not None:
            log.info("assets.upload.deduplicated", asset_id=existing.id, sha256=processed.sha256)
            return existing, False
        row = AssetRow(
            id=asset_id, owner_id=owner_id, kind=kind, sha256=processed.sha256,
            content_type=processed.content_type, width=processed.width, height=processed.height,
            size=processed.size, orientation=processed.orientation, palette=processed.palette,
            object_key=keys.original_key(owner_id, asset_id), thumbnail_key=keys.thumbnail_key(owner_id, asset_id),
            meta={**meta, "frames": processed.frames, "removed_metadata": processed.removed_metadata,
                  "thumbnail_bytes": len(processed.thumbnail),
                  **({"c2pa": processed.declared} if processed.declared is not None else {})},
            created_at=datetime.now(UTC),
        )
        written = False
        try:
            if source_key is not None and not processed.changed:
                await self.objects.copy(source_key, row.object_key)  # no need to move the bytes again
            else:
                await self.objects.write(row.object_key, processed.data, processed.content_type)
            await self.objects.write(row.thumbnail_key, processed.thumbnail, "image/webp")
            written = True
            async with self.pool.acquire() as conn, conn.transaction():
                await insert_asset(conn, row)
                await enqueue(conn, SCHEMA, stored_event(row))
                await check_upload(conn, row.id, owner_id, processed.perceptual, now=row.created_at,
                                   max_distance=self.settings.near_duplicate_max_distance,
                                   max_dhash_distance=self.settings.near_duplicate_max_dhash_distance)
        except asyncpg.UniqueViolationError:
            winner = await find_by_sha256(self.pool, owner_id, processed.sha256) or await get_asset(self.pool, asset_id)
            if winner is None:
                raise
            if winner.object_key != row.object_key:  # a concurrent twin won: drop our copies only
                await self._discard(row)
            return winner, False
        except BaseException:
            await asyncio.shield(self._discard(row))
            raise
        log.info("assets.asset.stored", asset_id=row.id, kind=kind, size=row.size, sha256=row.sha256,
                 content_type=row.content_type, written=written)
        return row, True

    async def _discard(self, row: AssetRow) -> None:
        try:
            await self.objects.delete(*dict.fromkeys((row.object_key, row.thumbnail_key)))
        except Exception as exc:
            log.warning("assets.discard_failed", asset_id=row.id, error=str(exc))

    # -- reading ---------------------------------------------------------------------------------

    async def readable(self, actor_id: str | None, asset_id: str) -> tuple[AssetRow, bool]:
        """The asset and whether others may see it; 404 for unknown and for not visible alike."""
        row = await get_asset(self.pool, asset_id) if is_ulid(asset_id) else None
        if row is None:
            raise NotFound("no such asset")
        public = await shown_to_others(self.pool, asset_id)
        if public or row.owner_id == actor_id:
            return row, public
        raise NotFound("no such asset")

    # -- delete ----------------------------------------------------------------------------------

    async def delete(self, actor_id: str, asset_id: str) -> None:
        row, _ = await self.readable(actor_id, asset_id)
        if row.owner_id != actor_id:
            raise Forbidden("only the owner may delete an asset")
        await self._ensure_unused(actor_id, row.id)
        async with self.pool.acquire() as conn, conn.transaction():
            locked = await lock_asset(conn, row.id)
            if locked is None:
                raise NotFound("no such asset")
            if await works_using(conn, row.id):
                raise Conflict("the asset is used by a work; delete or edit the work first")
            await delete_asset(conn, row.id)
            await enqueue(conn, SCHEMA, deleted_event(locked))
        await self._discard(locked)
        log.info("assets.asset.deleted", asset_id=row.id)

    async def _ensure_unused(self, actor_id: str, asset_id: str) -> None:
        """Works seen through events, then community itself (private works, events in flight)."""
        local = await works_using(self.pool, asset_id)
        if local:
            raise Conflict("the asset is used by a work; delete or edit the work first", extra={"work_ids": local})
        try:
            reply = await call(self.nc, community.WORKS_USING_ASSET, {"asset_id": asset_id},
                               timeout=self.settings.rpc_timeout_s)
        except ServiceUnavailable:
            raise ServiceUnavailable("cannot confirm that no work uses this asset right now; try again later"
                                     ) from None
        work_ids = list(reply.work_ids)
        if work_ids:
            raise Conflict("the asset is used by a work; delete or edit the work first", extra={"work_ids": work_ids})
