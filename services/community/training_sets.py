"""`works.training_set`: which works a requester may train a style model on.

A work is usable when its author consented twice — on the account (`allow_training`) and on the
work — and the requester may see it. Everything else is refused by id, never silently dropped.
"""

from __future__ import annotations

from typing import Any

from services.community.collections import get as get_collection
from services.community.deps import Deps
from services.community.store import collections as collections_store
from services.community.store import users as users_store
from services.community.store import works as works_store
from shared.errors import Unprocessable
from shared.ids import is_ulid

MAX_WORKS = 1000


async def training_set(deps: Deps, actor_id: str, work_ids: list[str] | None,
                       collection_id: str | None) -> dict[str, Any]:
    if (work_ids is None) == (collection_id is None):
        raise Unprocessable("give either work_ids or collection_id")
    if collection_id is not None:
        await get_collection(deps, actor_id, collection_id)  # 404 unless the requester may see it
        work_ids = await collections_store.member_ids(deps.pool, collection_id)
    assert work_ids is not None
    wanted = list(dict.fromkeys(work_ids))
    if len(wanted) > MAX_WORKS:
        raise Unprocessable(f"at most {MAX_WORKS} works per training set")
    rows = {r.id: r for r in await works_store.works_by_ids(deps.pool, [w for w in wanted if is_ulid(w)])}
    consenting = await users_store.consenting_user_ids(deps.pool, list({r.author_id for r in rows.values()}))
    usable: list[dict[str, Any]] = []
    reasons: dict[str, str] = {}
    for work_id in wanted:
        row = rows.get(work_id)
        if row is None or (row.visibility == "private" and row.author_id != actor_id):
            reasons[work_id] = "not_found"
        elif not row.allow_training or row.author_id not in consenting:
            reasons[work_id] = "no_consent"
        else:
            usable.append({"id": row.id, "author_id": row.author_id, "asset_ids": list(row.asset_ids),
                           "allow_training": True})
    return {"works": usable, "refused": list(reasons), "reasons": reasons}
