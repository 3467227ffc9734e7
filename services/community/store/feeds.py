"""Feed and listing queries. Every one is a keyset scan over a partial index of listed works
(public, not hidden by reports), so a page costs the same at any depth."""

from __future__ import annotations

from services.community.store.rows import Conn, WorkRow, many
from services.community.store.works import work_select

LISTED = "w.visibility = 'public' AND NOT w.hidden"


class _Query:
    """A WHERE clause built from only the filters present, so each variant gets its own plan
    (a generic `$n IS NULL OR ...` predicate would hide the index from the planner)."""

    def __init__(self, *params: object) -> None:
        self.params: list[object] = list(params)
        self.where: list[str] = []

    def arg(self, value: object) -> str:
        self.params.append(value)
        return f"${len(self.params)}"

    def add(self, clause: str) -> None:
        self.where.append(clause)

    def sql(self, order: str, limit: int) -> str:
        return (work_select("$1") + " WHERE " + " AND ".join(self.where)
                + f" ORDER BY {order} LIMIT {self.arg(limit)}")


async def following(conn: Conn, user_id: str, before_id: str | None, limit: int) -> list[WorkRow]:
    """Newest listed works of the artists `user_id` follows."""
    q = _Query(user_id)
    q.add("w.author_id IN (SELECT followee_id FROM follows WHERE follower_id = $1)")
    q.add(LISTED)
    if before_id is not None:
        q.add(f"w.id < {q.arg(before_id)}")
    return many(WorkRow, await conn.fetch(q.sql("w.id DESC", limit), *q.params))


async def trending(conn: Conn, viewer_id: str | None, after: tuple[float, str] | None,
                   limit: int) -> list[WorkRow]:
    """Highest time-decayed engagement first (the maintained `score`), ties by id."""
    q = _Query(viewer_id)
    q.add(LISTED)
    if after is not None:
        q.add(f"(w.score, w.id) < ({q.arg(float(after[0]))}::float8, {q.arg(after[1])}::text)")
    return many(WorkRow, await conn.fetch(q.sql("w.score DESC, w.id DESC", limit), *q.params))


async def listing(conn: Conn, viewer_id: str | None, *, author_id: str | None, include_private: bool,
                  tag: str | None, query: str | None, origin: str | None, sort: str,
                  after: list[object] | None, limit: int) -> list[WorkRow]:
    """`GET /v1/works`: filters combine; `q` is full-text over title, tags and description.

    Others see listed works only; authors listing their own works see all of them.
    """
    q = _Query(viewer_id)
    if author_id is not None:
        q.add(f"w.author_id = {q.arg(author_id)}")
    q.add("true" if include_private else LISTED)
    if tag is not None:
        q.add(f"w.tags @> ARRAY[{q.arg(tag)}::text]")
    if query is not None:
        q.add(f"w.search @@ websearch_to_tsquery('english', {q.arg(query)})")
    if origin is not None:
        q.add(f"w.origin = {q.arg(origin)}")
    if sort == "top":
        if after is not None:
            q.add(f"(w.like_count, w.id) < ({q.arg(after[0])}::int, {q.arg(after[1])}::text)")
        order = "w.like_count DESC, w.id DESC"
    else:
        if after is not None:
            q.add(f"w.id < {q.arg(after[0])}")
        order = "w.id DESC"
    return many(WorkRow, await conn.fetch(q.sql(order, limit), *q.params))


async def explain(conn: Conn, sql_name: str, user_id: str | None, work_id: str | None) -> str:
    """EXPLAIN (ANALYZE) of the hot read paths, for the benchmark's report."""
    queries = {
        "feed": (work_select("$1") + " WHERE w.author_id IN (SELECT followee_id FROM follows"
                 f" WHERE follower_id = $1) AND {LISTED} ORDER BY w.id DESC LIMIT 20", [user_id]),
        "trending": (work_select("$1") + f" WHERE {LISTED} ORDER BY w.score DESC, w.id DESC LIMIT 20", [user_id]),
        "work": (work_select("$1") + " WHERE w.id = $2 AND (w.visibility <> 'private' OR w.author_id = $1)",
                 [user_id, work_id]),
    }
    sql, params = queries[sql_name]
    rows = await conn.fetch("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql, *params)
    return "\n".join(r[0] for r in rows)
