"""The statistics behind `GET /v1/me/suggestions`, on counts whose truth is known."""

from __future__ import annotations

import random

import numpy as np
import pytest

from services.community.suggestions import (
    Overlap,
    Tally,
    WorkStats,
    overlap_confidence,
    prob_group_higher,
    prob_rate_higher,
    resonating,
    to_follow,
)


def _works(tag: str, likes: list[int], origin: str = "human", exposure: float = 1.0) -> list[WorkStats]:
    return [WorkStats([tag], origin, n, exposure) for n in likes]


def test_prob_rate_higher_matches_monte_carlo() -> None:
    rng = random.Random(7)
    draws = 40_000
    hits = sum(rng.gammavariate(30, 1 / 7) > rng.gammavariate(18, 1 / 6) for _ in range(draws))
    assert prob_rate_higher(30, 7, 18, 6) == pytest.approx(hits / draws, abs=0.01)
    assert prob_rate_higher(5, 1, 5, 1) == pytest.approx(0.5)


def test_planted_threefold_effect_at_equal_exposure_is_suggested_with_its_evidence() -> None:
    works = _works("neon", [6, 5, 7, 6, 6]) + _works("plain", [2, 2, 1, 3, 2])
    found = resonating(works)
    assert [(s["subject_type"], s["subject"]) for s in found] == [("tag", "neon")]
    s = found[0]
    ev = s["evidence"]
    assert (ev["works"], ev["likes"], ev["baseline_works"], ev["baseline_likes"]) == (5, 30, 5, 10)
    assert ev["rate_ratio"] == pytest.approx(3.0)
    assert 0.975 < s["confidence"] <= ev["probability_higher"] < 1
    assert "#neon" in s["explanation"] and "3.0x" in s["explanation"]


def test_no_effect_gives_no_suggestion() -> None:
    works = _works("a", [3, 4, 3, 2, 3]) + _works("b", [3, 3, 2, 4, 3])
    assert resonating(works) == []


def test_few_likes_give_no_suggestion_however_lopsided() -> None:
    works = _works("rare", [1, 1, 1, 0]) + _works("other", [0, 0, 0, 0, 0])  # three likes, infinite lift
    assert resonating(works) == []


def test_one_viral_work_is_not_a_pattern() -> None:
    works = _works("lucky", [40, 1, 2, 1, 2]) + _works("other", [2, 1, 2, 2, 1, 2])
    assert resonating(works) == []


def test_longer_exposure_explains_more_likes() -> None:
    # three times the likes, but after three times the days public: the same rate.
    works = _works("old", [6, 6, 6, 6, 6], exposure=3.0) + _works("new", [2, 2, 2, 2, 2], exposure=1.0)
    assert resonating(works) == []
    works = _works("new", [6, 6, 6, 6, 6], exposure=1.0) + _works("old", [2, 2, 2, 2, 2], exposure=3.0)
    assert [s["subject"] for s in resonating(works)] == ["new"]
    assert resonating(works)[0]["evidence"]["rate_ratio"] == pytest.approx(9.0)


def test_origin_groups_are_tested_too() -> None:
    works = _works("x", [6, 7, 6, 5, 6], origin="ai") + _works("x", [2, 2, 2, 1, 3], origin="human")
    found = resonating(works)
    assert [(s["subject_type"], s["subject"]) for s in found] == [("origin", "ai")]  # #x is on every work


def test_shrinkage_keeps_small_groups_near_the_baseline() -> None:
    rest = Tally(10, 20, 10.0)
    small, large = Tally(4, 12, 4.0), Tally(40, 120, 40.0)  # both three per day against two
    assert prob_group_higher(small, rest, 2.5) < prob_group_higher(large, rest, 2.5)


def test_many_groups_tested_raise_the_bar() -> None:
    # a moderate effect credible for one comparison is not enough among many.
    base = _works("plain", [3] * 10)
    strong = _works("hot", [6] * 6)
    alone = resonating(base + strong)
    # the same works, the plain ones also carrying 20 more tags (four works each): 22 groups tested.
    tagged = [WorkStats(["plain", *(f"t{i}" for i in range(20) if (j - i) % 10 < 4)], "human", 3, 1.0)
              for j in range(10)]
    crowded = resonating(tagged + strong)
    assert [s["subject"] for s in alone] == ["hot"]
    assert alone[0]["evidence"]["threshold"] == pytest.approx(0.975)
    assert 0.975 < alone[0]["confidence"] < 0.997
    assert crowded == []  # 22 groups tested: the bar is 1 - 0.05/22


def test_overlapping_audiences_are_suggested_most_similar_first() -> None:
    found = to_follow([Overlap("far", 3, 10, 13), Overlap("near", 5, 10, 6), Overlap("once", 1, 10, 1)])
    assert [s["subject"] for s in found] == ["near", "far"]
    near = found[0]["evidence"]
    assert (near["shared_fans"], near["jaccard"]) == (5, pytest.approx(5 / 11, abs=1e-4))
    assert near["cosine"] == pytest.approx(5 / (60 ** 0.5), abs=1e-4)


def test_a_thin_overlap_in_a_big_audience_is_not_suggested() -> None:
    assert overlap_confidence(2, 400) < 0.01
    assert to_follow([Overlap("crowd", 2, 200, 202)]) == []


def _bursty(seed: int, lift_tag: str | None, n: int = 60) -> list[WorkStats]:
    """Works with 3 of 10 tags each and overdispersed likes (Poisson over a Gamma, mean 5 per day)."""
    rng = np.random.default_rng(seed)
    works = []
    for _ in range(n):
        tags = [f"t{i}" for i in rng.choice(10, size=3, replace=False)]
        exposure = float(rng.uniform(1, 30))
        mean = 5.0 * exposure * (3.0 if lift_tag in tags else 1.0)
        works.append(WorkStats(tags, str(rng.choice(["human", "ai"])), int(rng.poisson(rng.gamma(2.0, mean / 2.0))),
                               exposure))
    return works


def test_bursty_likes_without_an_effect_give_no_suggestion() -> None:
    assert [s["subject"] for seed in range(20) for s in resonating(_bursty(seed, None))] == []


def test_a_threefold_effect_is_found_through_bursty_likes_and_unequal_exposure() -> None:
    hits = [[s["subject"] for s in resonating(_bursty(seed, "t3"))] for seed in range(20)]
    assert sum(found == ["t3"] for found in hits) >= 15, hits
    assert all(set(found) <= {"t3"} for found in hits), hits
