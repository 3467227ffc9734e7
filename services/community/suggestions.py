"""`GET /v1/me/suggestions`: advice drawn from how audiences respond, offered only when the data
says so clearly.

- **resonates**: for each tag and origin of the artist's published works, likes per day of public
  exposure (a cheap proxy: days since publication, clamped to 1..EXPOSURE_CAP_DAYS) against the
  artist's other works. Each side's rate has a Gamma posterior (Poisson likes, a Gamma prior at the
  artist's overall rate worth PRIOR_DAYS of exposure, so small groups shrink to the baseline), the
  data's weight divided by a quasi-Poisson dispersion estimated from the works themselves (likes
  are burstier than Poisson); the confidence is P(group rate > baseline rate). It is suggested only
  when that probability clears 1 - 0.05 / (groups tested), at least 0.95, also without the group's
  single most-liked work (one viral work is not a pattern), with enough works and likes and a lift
  of at least MIN_LIFT.
- **model_seed**: seeds of the artist's style models closest to their most-liked works
  (services/community/seed_suggestions.py, searched by the trainer).
- **follow**: artists whose likers are also the caller's likers (co-engagement), not already followed;
  the confidence is P(more than BASE_OVERLAP of the combined audience is shared) under a uniform
  Beta prior on the shared fraction.

The statistics are pure functions of counts (unit-tested); the SQL is in store/suggestions.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from scipy.special import betainc

from services.community import seed_suggestions
from services.community.deps import Deps
from services.community.store import suggestions as store
from shared.contracts.community import SuggestionsQuery

EXPOSURE_CAP_DAYS = 30.0
PRIOR_DAYS = 2.0
MIN_GROUP_WORKS = 4
MIN_GROUP_LIKES = 12
MIN_BASELINE_WORKS = 3
MIN_LIFT = 1.3
FAMILY_ERROR = 0.05
MIN_SHARED_FANS = 2
BASE_OVERLAP = 0.05
MIN_FOLLOW_CONFIDENCE = 0.9
MAX_PER_KIND = 5

METHOD = (
    "resonates: likes per day of public exposure (days since publication, clamped to 1.."
    f"{EXPOSURE_CAP_DAYS:g}) of each tag's and origin's works against your other works; Gamma-Poisson with a "
    f"prior at your overall rate worth {PRIOR_DAYS:g} days, the evidence divided by the quasi-Poisson dispersion of "
    "your works' likes; suggested when P(higher) exceeds 1 - "
    f"{FAMILY_ERROR:g}/groups tested (at least 0.95) with and without the group's most-liked work, from at least "
    f"{MIN_GROUP_WORKS} works and {MIN_GROUP_LIKES} likes and at least {MIN_LIFT:g}x your usual rate. "
    "follow: artists sharing likers with you (Jaccard and cosine over likers), not already followed; confidence "
    f"P(shared fraction of the combined audience > {BASE_OVERLAP:g}), from at least {MIN_SHARED_FANS} shared fans."
)


@dataclass(frozen=True, slots=True)
class WorkStats:
    tags: Sequence[str]
    origin: str
    likes: int
    exposure_days: float


@dataclass(frozen=True, slots=True)
class Tally:
    works: int
    likes: int
    exposure: float
    squares: float = 0.0  # Σ likes² / exposure: with the totals, the Pearson statistic of a constant rate

    @staticmethod
    def of(works: Iterable[WorkStats]) -> Tally:
        items = list(works)
        return Tally(len(items), sum(w.likes for w in items), sum(w.exposure_days for w in items),
                     sum(w.likes * w.likes / w.exposure_days for w in items))

    def minus(self, part: Tally) -> Tally:
        return Tally(self.works - part.works, self.likes - part.likes, self.exposure - part.exposure,
                     self.squares - part.squares)

    @property
    def rate(self) -> float:
        return self.likes / self.exposure if self.exposure > 0 else 0.0

    @property
    def pearson(self) -> float:
        """Σ (y - r·e)² / (r·e) at this tally's own rate r: how far its works scatter beyond Poisson."""
        return max(self.squares * self.exposure / self.likes - self.likes, 0.0) if self.likes > 0 else 0.0


def dispersion(group: Tally, rest: Tally) -> float:
    """Quasi-Poisson dispersion of a two-rate model (the group's rate, the rest's), at least 1.

    Likes are burstier than Poisson (some works travel); ignoring that makes every difference look
    certain, so each side's evidence is divided by this factor."""
    dof = group.works + rest.works - 2
    return max(1.0, (group.pearson + rest.pearson) / dof) if dof > 0 else math.inf


def prob_rate_higher(a_g: float, b_g: float, a_r: float, b_r: float) -> float:
    """P(λg > λr) for independent λg ~ Gamma(a_g, rate b_g) and λr ~ Gamma(a_r, rate b_r).

    With X ~ Gamma(a_g), Y ~ Gamma(a_r): λg > λr ⇔ X/(X+Y) > b_g/(b_g+b_r), and X/(X+Y) ~ Beta(a_g, a_r)."""
    return float(1.0 - betainc(a_g, a_r, b_g / (b_g + b_r)))


def prob_group_higher(group: Tally, rest: Tally, prior_rate: float, prior_days: float = PRIOR_DAYS,
                      phi: float = 1.0) -> float:
    """Posterior P(group's likes rate > the rest's), both shrunk towards `prior_rate`, the data's
    weight divided by the dispersion `phi`."""
    a0 = max(prior_rate, 1e-3) * prior_days
    return prob_rate_higher(a0 + group.likes / phi, prior_days + group.exposure / phi,
                            a0 + rest.likes / phi, prior_days + rest.exposure / phi)


def _without_top(works: Sequence[WorkStats]) -> list[WorkStats]:
    top = max(range(len(works)), key=lambda i: works[i].likes)
    return [w for i, w in enumerate(works) if i != top]


def _groups(works: Sequence[WorkStats]) -> dict[tuple[str, str], list[int]]:
    groups: dict[tuple[str, str], list[int]] = {}
    for i, work in enumerate(works):
        for tag in dict.fromkeys(work.tags):
            groups.setdefault(("tag", tag), []).append(i)
        groups.setdefault(("origin", work.origin), []).append(i)
    return groups


def _describe(kind: str, value: str) -> str:
    return f"works tagged #{value}" if kind == "tag" else f"your {value}-made works" if value != "collab" \
        else "your collaborative works"


def resonating(works: Sequence[WorkStats]) -> list[dict[str, Any]]:
    """The tags and origins whose works earn credibly more likes than the artist's other works."""
    overall = Tally.of(works)
    candidates = []
    for (kind, value), members in _groups(works).items():
        if len(members) < MIN_GROUP_WORKS:
            continue
        inside = [works[i] for i in members]
        group = Tally.of(inside)
        rest = overall.minus(group)
        if group.works >= MIN_GROUP_WORKS and group.likes >= MIN_GROUP_LIKES and rest.works >= MIN_BASELINE_WORKS:
            candidates.append((kind, value, inside, group, rest))
    threshold = max(0.95, 1.0 - FAMILY_ERROR / max(len(candidates), 1))
    found: list[dict[str, Any]] = []
    for kind, value, inside, group, rest in candidates:
        lift = group.rate / rest.rate if rest.rate > 0 else math.inf
        if lift < MIN_LIFT:
            continue
        phi = dispersion(group, rest)
        p = prob_group_higher(group, rest, overall.rate, phi=phi)
        trimmed = Tally.of(_without_top(inside))
        p_robust = prob_group_higher(trimmed, rest, overall.rate, phi=dispersion(trimmed, rest))
        confidence = min(p, p_robust)
        if confidence < threshold:
            continue
        what = _describe(kind, value)
        per_work, base_per_work = group.likes / group.works, rest.likes / rest.works
        times = f"about {lift:.1f}x" if math.isfinite(lift) else "clearly more than"
        found.append({
            "kind": "resonates", "subject_type": kind, "subject": value,
            "title": f"More {'#' + value if kind == 'tag' else value + ' works'}: they resonate",
            "explanation": (
                f"{what[0].upper() + what[1:]} earn {times} your usual likes per day of exposure "
                f"({per_work:.1f} likes per work over {group.works} works, against {base_per_work:.1f} on your "
                f"other {rest.works}); the chance this is luck is under {100 * (1 - confidence):.1f}%."),
            "evidence": {
                "works": group.works, "likes": group.likes, "exposure_days": round(group.exposure, 2),
                "likes_per_work": round(per_work, 3), "rate": round(group.rate, 4),
                "baseline_works": rest.works, "baseline_likes": rest.likes,
                "baseline_exposure_days": round(rest.exposure, 2), "baseline_likes_per_work": round(base_per_work, 3),
                "baseline_rate": round(rest.rate, 4), "rate_ratio": round(lift, 3) if math.isfinite(lift) else 1e9,
                "probability_higher": round(p, 5), "probability_higher_without_top_work": round(p_robust, 5),
                "dispersion": round(phi, 3), "threshold": round(threshold, 5),
            },
            "confidence": round(confidence, 5),
        })
    found.sort(key=lambda s: (-s["confidence"], -s["evidence"]["rate_ratio"], s["subject"]))
    return found[:MAX_PER_KIND]


def overlap_confidence(shared: int, union: int, base: float = BASE_OVERLAP) -> float:
    """P(θ > base) for the shared fraction θ ~ Beta(1 + shared, 1 + union - shared)."""
    return float(1.0 - betainc(1 + shared, 1 + max(union - shared, 0), base))


@dataclass(frozen=True, slots=True)
class Overlap:
    username: str
    shared: int
    my_fans: int
    their_fans: int


def to_follow(overlaps: Iterable[Overlap]) -> list[dict[str, Any]]:
    """Artists with a credible audience overlap, most similar first."""
    found: list[dict[str, Any]] = []
    for o in overlaps:
        union = o.my_fans + o.their_fans - o.shared
        if o.shared < MIN_SHARED_FANS or union <= 0:
            continue
        confidence = overlap_confidence(o.shared, union)
        if confidence < MIN_FOLLOW_CONFIDENCE:
            continue
        jaccard = o.shared / union
        cosine = o.shared / math.sqrt(o.my_fans * o.their_fans)
        found.append({
            "kind": "follow", "subject_type": "artist", "subject": o.username,
            "title": f"Follow @{o.username}: your audiences overlap",
            "explanation": (f"{o.shared} people who like your works also like @{o.username}'s "
                            f"({round(100 * jaccard)}% of your combined audience)."),
            "evidence": {"shared_fans": o.shared, "your_fans": o.my_fans, "their_fans": o.their_fans,
                         "jaccard": round(jaccard, 4), "cosine": round(cosine, 4),
                         "probability_overlap_above_base": round(confidence, 5), "base_overlap": BASE_OVERLAP},
            "confidence": round(confidence, 5),
        })
    found.sort(key=lambda s: (-s["evidence"]["jaccard"], -s["evidence"]["shared_fans"], s["subject"]))
    return found[:MAX_PER_KIND]


async def resonates_for(pool: asyncpg.Pool, user_id: str) -> list[dict[str, Any]]:
    """The user's "resonates" suggestions now (also what the suggestion announcer recomputes)."""
    rows = await store.exposed_works(pool, user_id, EXPOSURE_CAP_DAYS)
    return resonating([WorkStats(r.tags, r.origin, r.likes, r.exposure_days) for r in rows])


async def follow_for(pool: asyncpg.Pool, user_id: str) -> list[dict[str, Any]]:
    """The user's "follow" suggestions now."""
    rows = await store.audience_overlap(pool, user_id, MIN_SHARED_FANS)
    return to_follow(Overlap(r.username, r.shared, r.my_fans, r.their_fans) for r in rows)


async def suggestions(deps: Deps, user_id: str, query: SuggestionsQuery) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    if query.kind in (None, "resonates"):
        items += await resonates_for(deps.pool, user_id)
    if query.kind in (None, "follow"):
        items += await follow_for(deps.pool, user_id)
    if query.kind in (None, "model_seed"):
        items += await seed_suggestions.for_artist(deps.pool, deps.trainer, user_id)
    return {"items": items, "method": METHOD + seed_suggestions.METHOD}
