"""What assets answers about near duplicates: to community (describe) and to the original's author."""

from __future__ import annotations

import asyncpg

from services.assets import similarity_store as store
from shared.contracts import assets as a
from shared.errors import BadRequest
from shared.ids import is_ulid


async def originals_by_asset(pool: asyncpg.Pool, asset_ids: list[str]) -> dict[str, list[a.NearOriginal]]:
    if not asset_ids:
        return {}
    found: dict[str, list[a.NearOriginal]] = {}
    for o in await store.originals_of(pool, asset_ids):
        found.setdefault(o.asset_id, []).append(a.NearOriginal(
            asset_id=o.original_asset_id, work_id=o.original_work_id, author_id=o.original_author_id,
            distance=o.distance, work_public=o.work_public))
    return found


async def possible_copies(pool: asyncpg.Pool, author_id: str, query: a.PossibleCopiesQuery) -> a.PossibleCopies:
    if query.cursor is not None and not is_ulid(query.cursor):
        raise BadRequest("the cursor is not valid for this listing; start again without one")
    cursor = query.cursor.upper() if query.cursor is not None else None
    rows = await store.possible_copies(pool, author_id, cursor, query.limit + 1)
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    return a.PossibleCopies(
        items=[a.PossibleCopy(id=r.id, uploader_id=r.uploader_id, detected_at=r.created_at, distance=r.distance,
                              original_asset_id=r.original_asset_id, original_work_id=r.original_work_id,
                              published_in=r.published_in) for r in rows],
        next_cursor=rows[-1].id if more else None)
