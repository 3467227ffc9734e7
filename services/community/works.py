"""Works and what people do with them: publish, edit, delete, like, comment, report."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.community import events, provenance_rules, similarity_rules, views
from services.community.deps import Deps
from services.community.idempotency import run_once
from services.community.store import for_you as for_you_store
from services.community.store import works as store
from services.community.store.rows import LockedWork, WorkRow
from shared.contracts.common import Page, patch_fields
from shared.contracts.community import AiWorkCreate, CommentBody, ReportBody, WorkPatch
from shared.errors import Forbidden, NotFound, Unprocessable
from shared.ids import is_ulid, new_id

MODEL_FIELDS = ("model_id", "model_version", "model_owner_id", "generation_id")


def _not_found(work_id: str) -> NotFound:
    return NotFound(f"no work {work_id!r}")


async def visible_work(conn: asyncpg.Connection | asyncpg.Pool, work_id: str, viewer_id: str | None) -> WorkRow:
    """The work, or 404 — also for someone else's private work (its existence is not revealed)."""
    row = await store.work_for_viewer(conn, work_id, viewer_id) if is_ulid(work_id) else None
    if row is None:
        raise _not_found(work_id)
    return row


async def using_asset(deps: Deps, asset_id: str) -> dict[str, list[str]]:
    """Every work that lists the asset, whatever its visibility (assets refuses to delete those)."""
    return {"work_ids": await store.works_using_asset(deps.pool, asset_id)}


async def create(deps: Deps, actor_id: str, body: AiWorkCreate, key: str | None) -> dict[str, Any]:
    if body.origin != "ai" and any(getattr(body, f) is not None for f in MODEL_FIELDS):
        raise Unprocessable("only AI works credit a model",
                            errors=[{"field": "origin", "message": "model fields need origin 'ai'"}])
    described = await deps.assets.require_owned(body.asset_ids, actor_id)
    provenance_rules.check_origin(body.origin, described)
    acknowledged = similarity_rules.check_similarity(body.origin, described, body.acknowledge_similarity)
    if body.allow_training and provenance_rules.training_pinned(described):
        body = body.model_copy(update={"allow_training": False})

    async def insert(conn: asyncpg.Connection) -> dict[str, Any]:
        work_id = new_id()
        await store.insert_work(conn, {**body.model_dump(), "id": work_id, "author_id": actor_id,
                                       "similarity_acknowledged": acknowledged})
        row = await visible_work(conn, work_id, actor_id)
        if row.visibility != "private":
            await events.work_published(conn, row)
        return views.work(row)

    return await run_once(deps.pool, actor_id, "works.create", key, insert)


async def get(deps: Deps, viewer_id: str | None, work_id: str) -> dict[str, Any]:
    return views.work(await visible_work(deps.pool, work_id, viewer_id))


async def _own_locked(conn: asyncpg.Connection, actor_id: str, work_id: str) -> LockedWork:
    row = await store.lock_work(conn, work_id) if is_ulid(work_id) else None
    if row is None or (row.visibility == "private" and row.author_id != actor_id):
        raise _not_found(work_id)
    if row.author_id != actor_id:
        raise Forbidden("only the author can change or delete this work")
    return row


async def update(deps: Deps, actor_id: str, work_id: str, patch: WorkPatch) -> dict[str, Any]:
    fields = patch_fields(patch)
    if {"asset_ids", "origin", "allow_training"} & fields.keys():
        current = await visible_work(deps.pool, work_id, actor_id)  # 404 before asking assets about it
        described = await deps.assets.require_owned(fields.get("asset_ids") or list(current.asset_ids), actor_id)
        provenance_rules.check_origin(fields.get("origin", current.origin), described)
        if "asset_ids" in fields:
            fields["similarity_acknowledged"] = similarity_rules.check_similarity(
                fields.get("origin", current.origin), described, fields.get("acknowledge_similarity"))
        pinned = provenance_rules.training_pinned(described)
        if pinned and fields.get("allow_training"):
            provenance_rules.refuse_training(pinned)
        if pinned and current.allow_training:
            fields["allow_training"] = False
    async with deps.pool.acquire() as conn, conn.transaction():
        before = await _own_locked(conn, actor_id, work_id)
        visibility = fields.get("visibility", before.visibility)
        first_publication = before.published_at is None and visibility != "private"
        await store.update_work(conn, work_id, fields, mark_published=first_publication)
        row = await visible_work(conn, work_id, actor_id)
        if first_publication:
            await events.work_published(conn, row)
        else:
            await events.work_updated(conn, row)
    return views.work(row)


async def delete(deps: Deps, actor_id: str, work_id: str) -> None:
    async with deps.pool.acquire() as conn, conn.transaction():
        row = await _own_locked(conn, actor_id, work_id)
        await store.delete_work(conn, work_id)
        await events.work_deleted(conn, row)


async def like(deps: Deps, actor_id: str, work_id: str, *, on: bool) -> None:
    """PUT/DELETE like: idempotent; `community.work.liked` / `.unliked` only when it really changed."""
    liked = False
    async with deps.pool.acquire() as conn, conn.transaction():
        row = await visible_work(conn, work_id, actor_id)
        if on:
            if liked := await store.like(conn, actor_id, work_id):
                await for_you_store.mark_liked(conn, actor_id, work_id, liked=True)
                await events.work_liked(conn, work_id, actor_id, row.author_id)
        elif await store.unlike(conn, actor_id, work_id):
            await for_you_store.mark_liked(conn, actor_id, work_id, liked=False)
            await events.work_unliked(conn, work_id, actor_id, row.author_id)
    if liked and actor_id != row.author_id and deps.announcer is not None:
        deps.announcer.liked(row.author_id)  # in the background: the like is answered now


async def comment(deps: Deps, actor_id: str, work_id: str, body: CommentBody, key: str | None) -> dict[str, Any]:
    async def insert(conn: asyncpg.Connection) -> dict[str, Any]:
        work = await visible_work(conn, work_id, actor_id)
        row = await store.insert_comment(conn, new_id(), work_id, actor_id, body.body)
        await events.work_commented(conn, row, work.author_id)
        return views.comment(row)

    return await run_once(deps.pool, actor_id, "works.comment", key, insert)


async def comments(deps: Deps, viewer_id: str | None, work_id: str, page: Page) -> dict[str, Any]:
    after = deps.cursors.decode("comments:" + work_id, page.cursor, (str,))
    await visible_work(deps.pool, work_id, viewer_id)
    rows = await store.comments_page(deps.pool, work_id, after[0] if after else None, page.limit)
    next_cursor = deps.cursors.encode("comments:" + work_id, [rows[-1].id]) if len(rows) == page.limit else None
    return {"items": [views.comment(r) for r in rows], "next_cursor": next_cursor}


async def report(deps: Deps, actor_id: str, work_id: str, body: ReportBody) -> dict[str, Any]:
    async with deps.pool.acquire() as conn, conn.transaction():
        work = await visible_work(conn, work_id, actor_id)
        if work.author_id == actor_id:
            raise Unprocessable("you cannot report your own work")
        await store.insert_report(conn, work_id, actor_id, body.reason, body.details,
                                  deps.settings.report_hide_threshold)
    return {"work_id": work_id, "status": "received"}
