"""Collections: ordered sets of works that their owner curates (and may train on)."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.community import views
from services.community.deps import Deps
from services.community.idempotency import run_once
from services.community.store import collections as store
from services.community.store import users as users_store
from shared.contracts.common import patch_fields
from shared.contracts.community import CollectionCreate, CollectionPatch, CollectionsQuery
from shared.errors import Forbidden, NotFound, Unprocessable
from shared.ids import is_ulid, new_id


async def _checked_work_ids(conn: asyncpg.Connection, work_ids: list[str], owner_id: str) -> list[str]:
    ordered = list(dict.fromkeys(work_ids))
    visible = await store.visible_work_ids(conn, [w for w in ordered if is_ulid(w)], owner_id)
    unknown = [w for w in ordered if w not in visible]
    if unknown:
        raise Unprocessable("some works do not exist or are not visible to you",
                            errors=[{"field": "work_ids", "message": f"unknown work: {w}"} for w in unknown],
                            extra={"work_ids": unknown})
    return ordered


async def _show(conn: asyncpg.Connection | asyncpg.Pool, collection_id: str, viewer_id: str | None) -> dict[str, Any]:
    row = await store.collection_for_viewer(conn, collection_id, viewer_id) if is_ulid(collection_id) else None
    if row is None:
        raise NotFound(f"no collection {collection_id!r}")
    return views.collection(row, await store.collection_works(conn, collection_id, viewer_id))


async def create(deps: Deps, actor_id: str, body: CollectionCreate, key: str | None) -> dict[str, Any]:
    async def insert(conn: asyncpg.Connection) -> dict[str, Any]:
        work_ids = await _checked_work_ids(conn, body.work_ids, actor_id)
        collection_id = new_id()
        await store.insert_collection(conn, {**body.model_dump(), "id": collection_id, "owner_id": actor_id})
        await store.set_works(conn, collection_id, work_ids)
        return await _show(conn, collection_id, actor_id)

    return await run_once(deps.pool, actor_id, "collections.create", key, insert)


async def get(deps: Deps, viewer_id: str | None, collection_id: str) -> dict[str, Any]:
    return await _show(deps.pool, collection_id, viewer_id)


async def listing(deps: Deps, viewer_id: str | None, query: CollectionsQuery) -> dict[str, Any]:
    """The collections of `owner` (default: the caller's own)."""
    owner_id = viewer_id
    if query.owner is not None:
        owner_id = await users_store.user_id_by_username(deps.pool, query.owner)
        if owner_id is None:
            raise NotFound(f"no user named {query.owner!r}")
    if owner_id is None:
        raise Unprocessable("name an owner (?owner=username) or sign in to list your own collections")
    after = deps.cursors.decode("collections", query.cursor, (str,))
    rows = await store.collections_page(deps.pool, owner_id, owner_id == viewer_id,
                                        after[0] if after else None, query.limit)
    next_cursor = deps.cursors.encode("collections", [rows[-1].id]) if len(rows) == query.limit else None
    return {"items": [views.collection(r) for r in rows], "next_cursor": next_cursor}


async def _own_locked(conn: asyncpg.Connection, actor_id: str, collection_id: str) -> None:
    row = await store.lock_collection(conn, collection_id) if is_ulid(collection_id) else None
    if row is None or await store.collection_for_viewer(conn, collection_id, actor_id) is None:
        raise NotFound(f"no collection {collection_id!r}")
    if row.owner_id != actor_id:
        raise Forbidden("only the owner can change or delete this collection")


async def update(deps: Deps, actor_id: str, collection_id: str, patch: CollectionPatch) -> dict[str, Any]:
    fields = patch_fields(patch)
    async with deps.pool.acquire() as conn, conn.transaction():
        await _own_locked(conn, actor_id, collection_id)
        if "work_ids" in fields:
            await store.set_works(conn, collection_id, await _checked_work_ids(conn, fields["work_ids"], actor_id))
        await store.update_collection(conn, collection_id, fields)
        return await _show(conn, collection_id, actor_id)


async def delete(deps: Deps, actor_id: str, collection_id: str) -> None:
    async with deps.pool.acquire() as conn, conn.transaction():
        await _own_locked(conn, actor_id, collection_id)
        await store.delete_collection(conn, collection_id)
