"""SQL of the moderation queue: reported works, their open reports, and review decisions."""

from __future__ import annotations

import asyncpg

from services.community.store.rows import Conn, OpenReport, WorkRow, many
from services.community.store.works import work_select


async def queue_page(conn: Conn, moderator_id: str, after: list[int | str] | None, limit: int) -> list[WorkRow]:
    """Works with open reports, hidden first, then by open report count, newest first; any visibility."""
    return many(WorkRow, await conn.fetch(
        work_select("$1", ", w.report_count") + " WHERE w.report_count > 0"
        " AND ($2::int IS NULL OR (w.hidden::int, w.report_count, w.id) < ($2::int, $3::int, $4::text))"
        " ORDER BY w.hidden DESC, w.report_count DESC, w.id DESC LIMIT $5",
        moderator_id, *(after or (None, None, None)), limit,
    ))


async def open_reports(conn: Conn, work_ids: list[str]) -> list[OpenReport]:
    return many(OpenReport, await conn.fetch(
        "SELECT r.work_id, u.username AS reporter_username, r.reason, r.details, r.created_at"
        " FROM reports r JOIN users u ON u.id = r.reporter_id"
        " WHERE r.work_id = ANY($1::text[]) AND r.reviewed_at IS NULL ORDER BY r.created_at",
        work_ids,
    ))


async def close_reports(conn: asyncpg.Connection, work_id: str, moderator_id: str) -> int:
    """Mark the work's open reports reviewed and show it again; returns how many were open."""
    status = await conn.execute(
        "UPDATE reports SET reviewed_at = now(), reviewed_by = $2 WHERE work_id = $1 AND reviewed_at IS NULL",
        work_id, moderator_id,
    )
    await conn.execute("UPDATE works SET report_count = 0, hidden = false WHERE id = $1", work_id)
    return int(status.split()[-1])
