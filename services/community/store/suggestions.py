"""What suggestions are computed from: the author's published works with their likes and exposure,
and the artists whose likers are also the author's likers."""

from __future__ import annotations

from dataclasses import dataclass

from services.community.store.rows import Conn, many

MAX_WORKS = 1000  # the author's most recent published works considered
MAX_CANDIDATES = 50  # artists sharing the most fans, before similarity is computed


@dataclass(frozen=True, slots=True)
class ExposedWorkRow:
    id: str
    tags: list[str]
    origin: str
    likes: int  # from other users (an author's like of their own work says nothing)
    exposure_days: float  # days public, clamped to [1, cap]


@dataclass(frozen=True, slots=True)
class AudienceOverlapRow:
    author_id: str
    username: str
    shared: int  # users who liked works of both artists
    my_fans: int
    their_fans: int


async def exposed_works(conn: Conn, author_id: str, cap_days: float) -> list[ExposedWorkRow]:
    """The author's published, visible works with likes from others and days of exposure."""
    return many(ExposedWorkRow, await conn.fetch(
        "SELECT w.id, w.tags, w.origin,"
        " (SELECT count(*) FROM likes l WHERE l.work_id = w.id AND l.user_id <> w.author_id) AS likes,"
        " least($2::float8, greatest(1.0, extract(epoch FROM now() - w.published_at) / 86400.0))::float8"
        " AS exposure_days"
        " FROM works w WHERE w.author_id = $1 AND w.published_at IS NOT NULL"
        " AND w.visibility <> 'private' AND NOT w.hidden"
        " ORDER BY w.id DESC LIMIT $3",
        author_id, cap_days, MAX_WORKS,
    ))


async def audience_overlap(conn: Conn, author_id: str, min_shared: int) -> list[AudienceOverlapRow]:
    """Artists (not the author, not already followed) whose public works were liked by at least
    `min_shared` of the users who liked the author's works, with each side's audience size."""
    return many(AudienceOverlapRow, await conn.fetch(
        "WITH mine AS ("
        "  SELECT DISTINCT l.user_id FROM likes l JOIN works w ON w.id = l.work_id"
        "  WHERE w.author_id = $1 AND l.user_id <> $1 AND w.visibility <> 'private' AND NOT w.hidden"
        "), shared AS ("
        "  SELECT w.author_id, count(DISTINCT l.user_id) AS shared"
        "  FROM mine m JOIN likes l ON l.user_id = m.user_id JOIN works w ON w.id = l.work_id"
        "  WHERE w.author_id <> $1 AND l.user_id <> w.author_id AND w.visibility = 'public' AND NOT w.hidden"
        "  GROUP BY w.author_id HAVING count(DISTINCT l.user_id) >= $2"
        "  ORDER BY shared DESC, w.author_id LIMIT $3"
        ")"
        " SELECT s.author_id, u.username, s.shared, (SELECT count(*) FROM mine) AS my_fans,"
        " (SELECT count(DISTINCT l.user_id) FROM likes l JOIN works w ON w.id = l.work_id"
        "  WHERE w.author_id = s.author_id AND l.user_id <> w.author_id AND w.visibility = 'public'"
        "  AND NOT w.hidden) AS their_fans"
        " FROM shared s JOIN users u ON u.id = s.author_id"
        " WHERE NOT EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $1 AND f.followee_id = s.author_id)"
        " ORDER BY s.shared DESC, s.author_id",
        author_id, min_shared, MAX_CANDIDATES,
    ))


@dataclass(frozen=True, slots=True)
class LikedWorkRow:
    id: str
    title: str
    likes: int  # from other users


async def most_liked_works(conn: Conn, author_id: str, min_likes: int, limit: int) -> list[LikedWorkRow]:
    """The author's published, visible works with at least `min_likes` likes from others, most liked first."""
    return many(LikedWorkRow, await conn.fetch(
        "SELECT w.id, w.title, count(l.user_id) AS likes FROM works w"
        " JOIN likes l ON l.work_id = w.id AND l.user_id <> w.author_id"
        " WHERE w.author_id = $1 AND w.published_at IS NOT NULL AND w.visibility <> 'private' AND NOT w.hidden"
        " GROUP BY w.id, w.title HAVING count(l.user_id) >= $2"
        " ORDER BY count(l.user_id) DESC, w.id DESC LIMIT $3",
        author_id, min_likes, limit,
    ))
