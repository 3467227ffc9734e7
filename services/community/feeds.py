"""Feeds and listings, all paged with signed keyset cursors (`{items, next_cursor}`)."""

from __future__ import annotations

import random
import secrets
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.community import feed_bandit, views
from services.community.deps import Deps
from services.community.store import feeds as store
from services.community.store import for_you as for_you_store
from services.community.store import users as users_store
from services.community.store import works as works_store
from services.community.store.rows import WorkRow
from shared.contracts.common import Page
from shared.contracts.community import WorksQuery

AFFINITY_LIKES = 200  # recent likes that shape the for-you profile
AFFINITY_TAGS = 10
AFFINITY_AUTHORS = 200
CANDIDATES_PER_SOURCE = 100
# On average one for-you page in this many also prunes the viewer's old impressions: a viewer keeps
# at most about IMPRESSIONS_KEPT + this many pages of rows, and a read rarely deletes.
IMPRESSIONS_PRUNE_EVERY = 20


def _page(rows: list[WorkRow], limit: int, cursor_of: Callable[[WorkRow], str]) -> dict[str, Any]:
    next_cursor = cursor_of(rows[-1]) if len(rows) == limit else None
    return {"items": [views.work(r) for r in rows], "next_cursor": next_cursor}


async def following(deps: Deps, user_id: str, page: Page) -> dict[str, Any]:
    after = deps.cursors.decode("feed", page.cursor, (str,))
    rows = await store.following(deps.pool, user_id, after[0] if after else None, page.limit)
    return _page(rows, page.limit, lambda r: deps.cursors.encode("feed", [r.id]))


async def trending(deps: Deps, viewer_id: str | None, page: Page) -> dict[str, Any]:
    after = deps.cursors.decode("trending", page.cursor, (float, str))
    rows = await store.trending(deps.pool, viewer_id, (after[0], after[1]) if after else None, page.limit)
    return _page(rows, page.limit, lambda r: deps.cursors.encode("trending", [r.score, r.id]))


async def listing(deps: Deps, viewer_id: str | None, query: WorksQuery) -> dict[str, Any]:
    kind = f"works-{query.sort}"
    after = deps.cursors.decode(kind, query.cursor, (int, str) if query.sort == "top" else (str,))
    author_id = None
    if query.author is not None:
        author_id = await users_store.user_id_by_username(deps.pool, query.author)
        if author_id is None:
            return {"items": [], "next_cursor": None}
    rows = await store.listing(
        deps.pool, viewer_id, author_id=author_id, include_private=author_id is not None and author_id == viewer_id,
        tag=query.tag, query=query.q.strip() if query.q and query.q.strip() else None, origin=query.origin,
        sort=query.sort, after=after, limit=query.limit,
    )
    if query.sort == "top":
        return _page(rows, query.limit, lambda r: deps.cursors.encode(kind, [r.like_count, r.id]))
    return _page(rows, query.limit, lambda r: deps.cursors.encode(kind, [r.id]))


async def for_you(deps: Deps, user_id: str | None, page: Page) -> dict[str, Any]:
    """Works like the ones the user liked, from artists they follow or liked, liked by people with
    their taste, trending and fresh, mixed by the learning bandit (`feed_bandit`); never works they
    liked or made. The cursor carries the mix's seed, its position and the moment the first page
    was drawn, so later pages continue the same mix."""
    after = deps.cursors.decode("for-you", page.cursor, (int, int, float))
    seed, offset, as_of = ((after[0], after[1], datetime.fromtimestamp(after[2], UTC)) if after else
                           (secrets.randbits(62), 0, datetime.now(UTC)))
    authors: list[str] = []
    tags: list[str] = []
    counts: dict[str, tuple[int, int]] = {}
    if user_id is not None:
        liked = await works_store.author_liked_works(deps.pool, user_id, AFFINITY_LIKES)
        tag_counts = Counter(tag for row in liked for tag in row.tags)
        tags = [tag for tag, _ in tag_counts.most_common(AFFINITY_TAGS)]
        followed = await users_store.followed_ids(deps.pool, user_id, AFFINITY_AUTHORS)
        authors = list(dict.fromkeys([*followed, *(row.author_id for row in liked)]))[:AFFINITY_AUTHORS]
        counts = await for_you_store.arm_counts(deps.pool, user_id, as_of)
    pools = await for_you_store.candidates(deps.pool, user_id, authors=authors, tags=tags,
                                           per_source=CANDIDATES_PER_SOURCE)
    if user_id is not None:
        shown = await for_you_store.seen(deps.pool, user_id, as_of, sorted({w for ws in pools.values() for w in ws}))
        pools = feed_bandit.demote(pools, shown)
    arms = {source: feed_bandit.Arm(*counts.get(source, (0, 0))) for source in feed_bandit.SOURCES}
    chosen = feed_bandit.mix(pools, arms, random.Random(seed), offset + page.limit)[offset:]
    rows = {r.id: r for r in await for_you_store.works(deps.pool, user_id, [w for w, _ in chosen])}
    served = [(w, s) for w, s in chosen if w in rows]
    if user_id is not None and served:
        async with deps.pool.acquire() as conn, conn.transaction():
            await for_you_store.record(conn, user_id, served)
        if random.randrange(IMPRESSIONS_PRUNE_EVERY) == 0:  # not a secret: spreads the pruning
            await for_you_store.prune(deps.pool, user_id)
    next_cursor = (deps.cursors.encode("for-you", [seed, offset + len(chosen), as_of.timestamp()])
                   if len(chosen) == page.limit else None)
    return {"items": [{**views.work(rows[w]), "source": s} for w, s in served], "next_cursor": next_cursor}
