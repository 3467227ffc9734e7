"""Rights protection: an upload that nearly matches another artist's shown work is recorded.

Runs inside the transaction that stores the upload, so the asset, its hashes, its near-duplicate
records and their `assets.asset.near_duplicate` events commit together (or not at all). Only
uploads are compared (generated images carry their own provenance), only against assets of other
owners that a public or unlisted work shows (assets keeps that from community's work events), and
an owner's own re-upload never matches their own works (nor others' recorded copies of them:
recorded near duplicates are never taken as originals).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from services.assets.perceptual import PerceptualHash
from services.assets.similarity_store import NearDuplicate, find_near, record_near_duplicate, set_hashes
from shared.contracts.events.catalog import AssetNearDuplicate
from shared.ids import new_id
from shared.logging import get_logger
from shared.messaging.publisher import event_in_context
from shared.outbox import enqueue

log = get_logger(__name__)
SCHEMA = "assets"
MAX_ORIGINALS = 5  # closest originals recorded per upload


async def check_upload(conn: asyncpg.Connection, asset_id: str, uploader_id: str, ph: PerceptualHash | None,
                       *, max_distance: int, max_dhash_distance: int, now: datetime) -> list[NearDuplicate]:
    """Store the upload's hashes and record (with an event each) the originals it nearly matches."""
    if ph is None:
        return []
    await set_hashes(conn, asset_id, ph)
    if max_distance < 0:
        return []
    matches = await find_near(conn, uploader_id, ph, max_distance=max_distance,
                              max_dhash_distance=max_dhash_distance, limit=MAX_ORIGINALS)
    recorded = []
    for m in matches:
        row = NearDuplicate(id=new_id(), asset_id=asset_id, uploader_id=uploader_id, original_asset_id=m.asset_id,
                            original_work_id=m.work_id, original_author_id=m.owner_id, distance=m.distance,
                            dhash_distance=m.dhash_distance, created_at=now)
        if await record_near_duplicate(conn, row):
            await enqueue(conn, SCHEMA, event_in_context(AssetNearDuplicate(
                asset_id=asset_id, uploader_id=uploader_id, original_asset_id=m.asset_id,
                original_work_id=m.work_id, original_author_id=m.owner_id, distance=m.distance,
                dhash_distance=m.dhash_distance), service=SCHEMA, subject_id=asset_id))
            recorded.append(row)
    if recorded:
        log.info("assets.near_duplicate.recorded", asset_id=asset_id, uploader_id=uploader_id,
                 originals=[r.original_asset_id for r in recorded], distances=[r.distance for r in recorded])
    return recorded
