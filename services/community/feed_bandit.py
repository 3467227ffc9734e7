"""The for-you feed's mixer: Thompson sampling over candidate sources.

Each source (works with tags you liked, by artists you follow or liked, liked by people who like
what you like, trending, fresh) offers a ranked list of candidates. Every slot of the feed goes to
the source whose sampled like-rate is highest, drawn from a Beta posterior per user and source:
Beta(PRIOR_LIKES + likes, PRIOR_MISSES + impressions - likes), where an impression is a work the
feed served from that source and a like is a like of that work afterwards. The prior is the same
for every user (uniform): a new user's feed explores every source evenly.

Exploration never starves a source: in every round of ROUND slots each source that still has
candidates gets at least FLOOR slots, at positions drawn at random within the round. A given seed
and the same inputs always give the same mix. Works the viewer was shown before and did not like
go to the back of their source's list (`demote`), so each visit brings new works first.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SOURCES = ("tags", "artists", "co_likes", "trending", "fresh")
ROUND = 20
FLOOR = 1
PRIOR_LIKES = 1.0
PRIOR_MISSES = 1.0


@dataclass(frozen=True, slots=True)
class Arm:
    """What one user did with one source's works: served (`impressions`), then liked (`likes`)."""

    impressions: int = 0
    likes: int = 0

    def sample(self, rng: random.Random) -> float:
        misses = max(self.impressions - self.likes, 0)
        return rng.betavariate(PRIOR_LIKES + self.likes, PRIOR_MISSES + misses)


def mix(candidates: Mapping[str, Sequence[str]], arms: Mapping[str, Arm], rng: random.Random,
        length: int, *, round_size: int = ROUND, floor: int = FLOOR) -> list[tuple[str, str]]:
    """Up to `length` (work id, source) pairs, no work twice: each source's list is consumed in its
    own order, the slots split between sources by Thompson draws with a floor per round."""
    queues = {s: list(reversed(candidates[s])) for s in sorted(candidates, key=_order) if candidates[s]}
    used: set[str] = set()
    out: list[tuple[str, str]] = []

    def take(source: str) -> bool:
        queue = queues.get(source)
        while queue:
            work_id = queue.pop()
            if work_id not in used:
                used.add(work_id)
                out.append((work_id, source))
                return True
        queues.pop(source, None)
        return False

    while len(out) < length and queues:
        active = list(queues)
        forced: dict[int, str] = {}
        if floor * len(active) <= round_size:
            positions = rng.sample(range(round_size), floor * len(active))
            forced = {pos: active[i // floor] for i, pos in enumerate(positions)}
        for position in range(round_size):
            if len(out) >= length or not queues:
                break
            source = forced.get(position)
            if source is not None and take(source):
                continue
            while queues:
                draws = {s: arms.get(s, Arm()).sample(rng) for s in queues}
                if take(max(draws, key=lambda s: (draws[s], -_order(s)))):
                    break
    return out


def demote(candidates: Mapping[str, Sequence[str]], seen: set[str]) -> dict[str, list[str]]:
    """Each source's list with the works the viewer was already shown (and did not like) moved to
    its end, in their order: a skipped work waits behind everything new."""
    return {s: [w for w in ws if w not in seen] + [w for w in ws if w in seen] for s, ws in candidates.items()}


def _order(source: str) -> int:
    return SOURCES.index(source) if source in SOURCES else len(SOURCES)
