"""Collections: ordered sets of works (a collection can be a training set)."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.community.store.rows import CollectionRow, Conn, LockedCollection, WorkRow, many, one
from services.community.store.works import work_select


def columns(viewer_param: str) -> str:
    """A collection's columns; `work_count` counts only the members the viewer may see (the same rule
    as `collection_works`), so a private work it hides is not given away by the count."""
    return ("c.id, c.owner_id, u.username AS owner_username, c.title, c.description, c.visibility, c.training_set,"
            " c.created_at, c.updated_at, (SELECT count(*) FROM collection_works cw JOIN works w ON w.id = cw.work_id"
            f" WHERE cw.collection_id = c.id AND (w.visibility <> 'private' OR w.author_id = {viewer_param}))"
            " AS work_count")


async def insert_collection(conn: Conn, collection: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO collections (id, owner_id, title, description, visibility, training_set)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        collection["id"], collection["owner_id"], collection["title"], collection["description"],
        collection["visibility"], collection["training_set"],
    )


async def set_works(conn: Conn, collection_id: str, work_ids: list[str]) -> None:
    """Replace the members, keeping the given order."""
    await conn.execute("DELETE FROM collection_works WHERE collection_id = $1", collection_id)
    await conn.execute(
        "INSERT INTO collection_works (collection_id, work_id, position)"
        " SELECT $1, work_id, ord FROM unnest($2::text[]) WITH ORDINALITY AS t(work_id, ord)",
        collection_id, work_ids,
    )


async def visible_work_ids(conn: Conn, work_ids: list[str], viewer_id: str) -> set[str]:
    rows = await conn.fetch(
        "SELECT id FROM works WHERE id = ANY($1::text[]) AND (visibility <> 'private' OR author_id = $2)",
        work_ids, viewer_id,
    )
    return {r["id"] for r in rows}


async def collection_for_viewer(conn: Conn, collection_id: str, viewer_id: str | None) -> CollectionRow | None:
    return one(CollectionRow, await conn.fetchrow(
        f"SELECT {columns('$2')} FROM collections c JOIN users u ON u.id = c.owner_id"
        " WHERE c.id = $1 AND (c.visibility = 'public' OR c.owner_id = $2)",
        collection_id, viewer_id,
    ))


async def collection_works(conn: Conn, collection_id: str, viewer_id: str | None) -> list[WorkRow]:
    """Members in order, leaving out works the viewer may not see."""
    return many(WorkRow, await conn.fetch(
        work_select("$2") + " JOIN collection_works cw ON cw.work_id = w.id"
        " WHERE cw.collection_id = $1 AND (w.visibility <> 'private' OR w.author_id = $2)"
        " ORDER BY cw.position",
        collection_id, viewer_id,
    ))


async def member_ids(conn: Conn, collection_id: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT work_id FROM collection_works WHERE collection_id = $1 ORDER BY position", collection_id
    )
    return [r["work_id"] for r in rows]


async def collections_page(conn: Conn, owner_id: str, include_private: bool, before_id: str | None,
                           limit: int) -> list[CollectionRow]:
    visibility = "" if include_private else " AND c.visibility = 'public'"
    cursor = "" if before_id is None else " AND c.id < $3"
    params: list[Any] = [owner_id, limit] + ([before_id] if before_id is not None else [])
    return many(CollectionRow, await conn.fetch(
        f"SELECT {columns('$1' if include_private else 'NULL')} FROM collections c JOIN users u ON u.id = c.owner_id"
        f" WHERE c.owner_id = $1{visibility}{cursor} ORDER BY c.id DESC LIMIT $2",
        *params,
    ))


async def lock_collection(conn: asyncpg.Connection, collection_id: str) -> LockedCollection | None:
    return one(LockedCollection, await conn.fetchrow(
        "SELECT id, owner_id FROM collections WHERE id = $1 FOR UPDATE", collection_id))


async def update_collection(conn: Conn, collection_id: str, fields: dict[str, Any]) -> None:
    names = [n for n in ("title", "description", "visibility", "training_set") if n in fields]
    sets = "".join(f"{name} = ${i}, " for i, name in enumerate(names, start=2))
    await conn.execute(
        f"UPDATE collections SET {sets}updated_at = now() WHERE id = $1",
        collection_id, *(fields[n] for n in names),
    )


async def delete_collection(conn: Conn, collection_id: str) -> None:
    await conn.execute("DELETE FROM collections WHERE id = $1", collection_id)
