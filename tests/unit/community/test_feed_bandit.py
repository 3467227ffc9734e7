"""The for-you feed's Thompson-sampling mixer: learns from likes, keeps exploring, reproducible."""

from __future__ import annotations

import random
from collections import Counter
from typing import get_args

from services.community.feed_bandit import ROUND, SOURCES, Arm, demote, mix
from shared.contracts.community import FeedSource


def _pools(n: int = 200) -> dict[str, list[str]]:
    return {s: [f"{s}-{i}" for i in range(n)] for s in SOURCES}


def _shares(arms: dict[str, Arm], seed: int, length: int = 100) -> Counter[str]:
    return Counter(source for _, source in mix(_pools(), arms, random.Random(seed), length))


def test_sources_match_the_contract() -> None:
    assert set(SOURCES) == set(get_args(FeedSource))


def test_a_source_that_earns_likes_gets_more_slots_over_time() -> None:
    rng = random.Random(7)
    like_rate = {"tags": 0.5, "artists": 0.05, "co_likes": 0.05, "trending": 0.05, "fresh": 0.05}
    counts = {s: [0, 0] for s in SOURCES}
    shares = []
    for day in range(30):
        arms = {s: Arm(*counts[s]) for s in SOURCES}
        page = mix(_pools(), arms, random.Random(day), 20)
        shares.append(sum(1 for _, s in page if s == "tags"))
        for _, source in page:  # a simulated user who likes half of the tag matches
            counts[source][0] += 1
            counts[source][1] += rng.random() < like_rate[source]
    assert shares[0] <= 8  # with no evidence yet, about a fifth of the page
    assert sum(shares[-5:]) / 5 >= 13  # then most of it
    assert counts["tags"][1] > 3 * max(counts[s][1] for s in SOURCES if s != "tags")


def test_the_floor_keeps_every_source_alive() -> None:
    winner = {"tags": Arm(1000, 900), **{s: Arm(1000, 0) for s in SOURCES if s != "tags"}}
    for seed in range(20):
        page = mix(_pools(), winner, random.Random(seed), 3 * ROUND)
        for r in range(3):
            assert set(SOURCES) == {s for _, s in page[r * ROUND:(r + 1) * ROUND]}
    shares = _shares(winner, 1, 5 * ROUND)
    assert shares["tags"] >= 5 * (ROUND - len(SOURCES))  # everything beyond the floor exploits


def test_deterministic_with_a_seed_and_pages_continue_the_mix() -> None:
    arms = {"fresh": Arm(10, 4), "trending": Arm(10, 1)}
    assert mix(_pools(), arms, random.Random(3), 60) == mix(_pools(), arms, random.Random(3), 60)
    assert mix(_pools(), arms, random.Random(3), 60) != mix(_pools(), arms, random.Random(4), 60)
    assert mix(_pools(), arms, random.Random(3), 60)[:40] == mix(_pools(), arms, random.Random(3), 40)


def test_no_work_twice_and_empty_or_short_sources_are_skipped() -> None:
    pools = {"tags": ["a", "b", "c"], "artists": ["b", "c", "d"], "co_likes": [], "trending": ["a", "e"],
             "fresh": ["f"]}
    page = mix(pools, {}, random.Random(0), 50)
    ids = [w for w, _ in page]
    assert sorted(ids) == ["a", "b", "c", "d", "e", "f"]  # every candidate once, then the mix ends
    assert all(w in pools[s] for w, s in page)
    assert mix({s: [] for s in SOURCES}, {}, random.Random(0), 10) == []


def test_each_source_keeps_its_own_order() -> None:
    page = mix(_pools(), {}, random.Random(5), 100)
    for source in SOURCES:
        picked = [int(w.split("-")[1]) for w, s in page if s == source]
        assert picked == list(range(len(picked)))


def test_works_seen_before_wait_behind_new_ones() -> None:
    pools = {"tags": ["a", "b", "c", "d"], "fresh": ["b", "e"]}
    assert demote(pools, {"a", "b"}) == {"tags": ["c", "d", "a", "b"], "fresh": ["e", "b"]}
    page = [w for w, _ in mix(demote(_pools(), {f"{s}-0" for s in SOURCES}), {}, random.Random(1), 20)]
    assert not {f"{s}-0" for s in SOURCES} & set(page)  # enough new candidates: nothing seen comes back
