"""Reviewing reported works: the moderators' queue and their decisions.

Enough distinct reports hide a work from feeds and listings (`works.report`); a moderator (a
username listed in ATELIER_MODERATORS) then restores it, closing its reports, or removes it.
"""

from __future__ import annotations

from typing import Any

from services.community import events, views
from services.community.deps import Deps
from services.community.store import moderation as store
from services.community.store import users as user_store
from services.community.store import works as work_store
from services.community.works import visible_work
from shared.contracts.common import Page
from shared.contracts.community import ModerationDecision
from shared.errors import Forbidden, NotFound
from shared.ids import is_ulid
from shared.logging import get_logger

log = get_logger(__name__)


async def _require_moderator(deps: Deps, actor_id: str) -> None:
    user = await user_store.user_by_id(deps.pool, actor_id)
    if user is None or user.username.lower() not in deps.settings.moderators:
        raise Forbidden("only moderators can review reported works")


async def queue(deps: Deps, actor_id: str, page: Page) -> dict[str, Any]:
    await _require_moderator(deps, actor_id)
    after = deps.cursors.decode("moderation", page.cursor, (int, int, str))
    rows = await store.queue_page(deps.pool, actor_id, after, page.limit)
    reports: dict[str, list[dict[str, Any]]] = {row.id: [] for row in rows}
    for report in await store.open_reports(deps.pool, list(reports)):
        reports[report.work_id].append({
            "reporter": report.reporter_username, "reason": report.reason, "details": report.details,
            "created_at": views.rfc3339(report.created_at),
        })
    items = [{"work": views.work(row), "open_reports": row.report_count, "reports": reports[row.id]}
             for row in rows]
    last = rows[-1] if len(rows) == page.limit else None
    next_cursor = (deps.cursors.encode("moderation", [int(last.hidden), last.report_count, last.id])
                   if last is not None else None)
    return {"items": items, "next_cursor": next_cursor}


async def decide(deps: Deps, actor_id: str, work_id: str, body: ModerationDecision) -> dict[str, Any]:
    await _require_moderator(deps, actor_id)
    result: dict[str, Any] = {"work_id": work_id, "decision": body.decision}
    async with deps.pool.acquire() as conn, conn.transaction():
        locked = await work_store.lock_work(conn, work_id) if is_ulid(work_id) else None
        if locked is None:
            raise NotFound(f"no work {work_id!r}")
        if body.decision == "remove":
            await work_store.delete_work(conn, work_id)
            await events.work_deleted(conn, locked)
        else:
            result["closed_reports"] = await store.close_reports(conn, work_id, actor_id)
            await events.work_updated(conn, await visible_work(conn, work_id, locked.author_id))
    log.info("moderation.decided", work_id=work_id, decision=body.decision, note=body.note)
    return result
