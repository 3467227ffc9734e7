"""For-you feed: like rate of the learned ranking (the Thompson-sampling mix of `feed_bandit`) against
today's ranking (before issue 21: trending score + 1 per liked tag, cap 3, + 2 for a liked artist),
in a simulator whose users have known tastes. Alternated in the same run (ATELIER_BENCH_ROUNDS,
default 4), each round a fresh population, the same one for both rankings.

    python -m bench.bench_feed_replay [USERS]        (default 150 users, 600 works, 12 days)

The population: 30 artists, each with a home tag (10 tags); 600 works, each by an artist with its
home tag and sometimes a second one; every user prefers 2 tags and 3 artists and starts with 3
recorded likes of works they prefer. A user likes a shown work with probability 0.02, + 0.25 when a
tag matches their taste, + 0.35 when its artist does (+ 0.1 for the 30 best-liked works), decided by
a fixed random number per (user, work) in both rankings (common random numbers): a work skipped
once stays skipped. Every day each user reads one page of 10; likes update their history, the
works' like counts and, for the learned ranking, the per-source posteriors (each shown work is an
impression of the source that served it). The candidate sources mirror the SQL of
services/community/store/for_you.py (liked tags by score, liked artists newest first, co-likers'
likes, trending, fresh). The figure is likes per impression over the whole run.
Goal (issue 21): learned >= 1.1x today's.

This is a simulator, not a replay of logged traffic: there is no recorded production traffic yet.
Its user model is ours, so the figure says the bandit finds the sources this population rewards,
not what real people will do.
"""

from __future__ import annotations

import math
import random
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.harness import Goal, alternate, current, paired_ratios, rounds, spread
from services.community.feed_bandit import SOURCES, Arm, demote, mix

ARTISTS, TAGS, WORKS, DAYS, PAGE, POOL = 30, 10, 600, 12, 10, 100
LEARNED_VS_TODAY = Goal("feed.learned_like_rate", "for-you likes per impression, simulated population",
                        "today's ranking", ">=", 1.1, "x")


@dataclass
class World:
    """One population and catalogue; each ranking plays on its own copy of the mutable state."""

    authors: list[int]
    tags: list[set[int]]
    taste_tags: list[set[int]]
    taste_artists: list[set[int]]
    coins: dict[tuple[int, int], float]
    likes: list[set[int]] = field(default_factory=list)
    like_count: list[int] = field(default_factory=list)
    arms: list[dict[str, list[int]]] = field(default_factory=list)
    seen: list[set[str]] = field(default_factory=list)

    def p_like(self, user: int, work: int) -> float:
        p = 0.02 + 0.25 * bool(self.tags[work] & self.taste_tags[user])
        p += 0.35 * (self.authors[work] in self.taste_artists[user])
        return p + 0.1 * (work < 30)

    def liked(self, user: int, work: int) -> bool:
        return self.coins.setdefault((user, work), random.Random(user * 100_003 + work).random()) \
            < self.p_like(user, work)


def build(users: int, seed: int) -> World:
    rng = random.Random(seed)
    home = [rng.randrange(TAGS) for _ in range(ARTISTS)]
    authors = [rng.randrange(ARTISTS) for _ in range(WORKS)]
    tags = [{home[a]} | ({rng.randrange(TAGS)} if rng.random() < 0.4 else set()) for a in authors]
    world = World(authors, tags, [set(rng.sample(range(TAGS), 2)) for _ in range(users)],
                  [set(rng.sample(range(ARTISTS), 3)) for _ in range(users)], {})
    world.like_count = [rng.randrange(20) if w < 30 else rng.randrange(3) for w in range(WORKS)]
    for u in range(users):
        preferred = [w for w in range(WORKS) if world.p_like(u, w) >= 0.27]
        world.likes.append(set(rng.sample(preferred, min(3, len(preferred)))))
        world.arms.append({s: [0, 0] for s in SOURCES})
        world.seen.append(set())
    return world


def _score(world: World, w: int) -> float:
    return math.log1p(world.like_count[w]) + w / WORKS  # engagement with a freshness decay


def _profile(world: World, user: int) -> tuple[set[int], set[int]]:
    liked = world.likes[user]
    counts = Counter(t for w in liked for t in world.tags[w])
    return {t for t, _ in counts.most_common(10)}, {world.authors[w] for w in liked}


def _sources(world: World, user: int, liked_by: list[set[int]]) -> dict[str, list[str]]:
    tags, artists = _profile(world, user)
    ok = [w for w in range(WORKS) if w not in world.likes[user]]
    by_score = sorted(ok, key=lambda w: -_score(world, w))
    peers = Counter(v for w in world.likes[user] for v in liked_by[w] if v != user)
    co = Counter(w for v, _ in peers.most_common(100) for w in world.likes[v] if w not in world.likes[user])
    def affinity(w: str) -> float:
        work = int(w)
        return (_score(world, work) + min(len(world.tags[work] & tags), 3)
                + 2 * (world.authors[work] in artists))

    pools = {
        "tags": [str(w) for w in by_score if world.tags[w] & tags][:POOL],
        "artists": [str(w) for w in sorted(ok, reverse=True) if world.authors[w] in artists][:POOL],
        "co_likes": [str(w) for w, _ in sorted(co.items(), key=lambda kv: (-kv[1], -_score(world, kv[0])))][:POOL],
        "trending": [str(w) for w in by_score[:POOL]],
        "fresh": [str(w) for w in sorted(ok, reverse=True)[:POOL]],
    }
    return {s: sorted(ws, key=lambda w: (-affinity(w), -int(w))) for s, ws in pools.items()}


def today(world: World, user: int, day: int, liked_by: list[set[int]], size: int = PAGE) -> list[tuple[int, str]]:
    tags, artists = _profile(world, user)
    pools = _sources(world, user, liked_by)
    candidates = {int(w) for s in ("tags", "artists", "trending") for w in pools[s]}

    def rank(w: int) -> float:
        return _score(world, w) + min(len(world.tags[w] & tags), 3) + 2 * (world.authors[w] in artists)

    return [(w, "today") for w in sorted(candidates, key=lambda w: (-rank(w), -w))[:size]]


def today_demoted(world: World, user: int, day: int, liked_by: list[set[int]]) -> list[tuple[int, str]]:
    """Today's ranking with works seen before moved to the back: isolates what the bandit adds."""
    ranked = [w for w, _ in today(world, user, day, liked_by, PAGE * 30)]
    fresh = [w for w in ranked if str(w) not in world.seen[user]]
    page = (fresh + [w for w in ranked if str(w) in world.seen[user]])[:PAGE]
    world.seen[user].update(str(w) for w in page)
    return [(w, "today") for w in page]


def bandit_only(world: World, user: int, day: int, liked_by: list[set[int]]) -> list[tuple[int, str]]:
    """The mix without moving works seen before to the back: what the bandit alone brings."""
    arms = {s: Arm(*world.arms[user][s]) for s in SOURCES}
    chosen = mix(_sources(world, user, liked_by), arms, random.Random(day * 1_000_003 + user), PAGE)
    return [(int(w), s) for w, s in chosen]


def learned(world: World, user: int, day: int, liked_by: list[set[int]]) -> list[tuple[int, str]]:
    """What the feed does: the mix over sources whose works seen before wait at the back."""
    arms = {s: Arm(*world.arms[user][s]) for s in SOURCES}
    pools = demote(_sources(world, user, liked_by), world.seen[user])
    chosen = mix(pools, arms, random.Random(day * 1_000_003 + user), PAGE)
    world.seen[user].update(w for w, _ in chosen)
    return [(int(w), s) for w, s in chosen]


def play(users: int, seed: int, policy: Callable[..., list[tuple[int, str]]]) -> float:
    world = build(users, seed)
    shown = liked = 0
    for day in range(DAYS):
        liked_by = [set() for _ in range(WORKS)]  # type: list[set[int]]
        for u, works in enumerate(world.likes):
            for w in works:
                liked_by[w].add(u)
        for user in range(users):
            for w, source in policy(world, user, day, liked_by):
                shown += 1
                hit = world.liked(user, w)
                if source in world.arms[user]:
                    world.arms[user][source][0] += 1
                    world.arms[user][source][1] += hit
                if hit:
                    liked += 1
                    world.likes[user].add(w)
                    world.like_count[w] += 1
    return liked / shown


def main() -> None:
    users = int(sys.argv[1]) if len(sys.argv) > 1 else 150
    results = current()
    played = Counter[str]()

    def variant(name: str, policy: Callable[..., list[tuple[int, str]]]) -> Callable[[], float]:
        def run() -> float:
            played[name] += 1
            rate = play(users, 1000 + played[name], policy)
            print(f"round {played[name]}: {name} like rate {rate:.4f}", flush=True)
            return rate
        return run

    out = alternate(rounds(4), {"today": variant("today", today), "learned": variant("learned", learned),
                                "bandit_only": variant("bandit_only", bandit_only),
                                "today_demoted": variant("today_demoted", today_demoted)})
    results.figure("feed.today_like_rate (likes per impression)", spread(out["today"]))
    results.figure("feed.learned_like_rate (likes per impression)", spread(out["learned"]))
    results.figure("feed.bandit_only_like_rate (no demotion of seen works; reported)", spread(out["bandit_only"]))
    results.figure("feed.bandit_only_vs_today (reported)", spread(paired_ratios(out["bandit_only"], out["today"])))
    ratio = spread(paired_ratios(out["learned"], out["today"]))
    results.figure("feed.today_demoted_like_rate (today's ranking, seen works to the back; reported)",
                   spread(out["today_demoted"]))
    results.figure("feed.learned_vs_today_demoted (what the bandit adds; reported)",
                   spread(paired_ratios(out["learned"], out["today_demoted"])))
    results.check(LEARNED_VS_TODAY, ratio.median, spread_of=ratio,
                  note=f"{users} users x {DAYS} days x {PAGE} works a day, per round")


if __name__ == "__main__":
    main()
