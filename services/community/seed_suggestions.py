"""Suggestions of kind `model_seed`: seeds of the artist's style models whose outputs come closest to
their most-liked works, ready to generate from.

Community picks the works (the artist's TOP_WORKS published works with the most likes from others, at
least MIN_WORK_LIKES each) and asks the trainer (`svc.trainer.models.seed_suggestions`, as the
artist), which searches seeds 0..255 of every active model version trained on them
(services/trainer/seeds.py). Each answer becomes a suggestion with a `generate` body that
`POST /v1/generations` accepts as it is; its output 0 is the suggested seed's image (and, when one of
the version's latent directions brings it closer, `generate_edit`, a mode `edit` body). The confidence
is 1 / (1 + r), r the seed's distance to the work over the version's originality scale (the median
distance between a training work and its nearest other one): 1 for an exact reproduction, 0.5 when
the seed's output is as far from the work as the works typically are from each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.community.store import suggestions as store
from services.community.store.rows import Conn
from services.community.trainer_client import TrainerClient
from shared.contracts.trainer_seeds import SeedSuggestion

TOP_WORKS = 5
MIN_WORK_LIKES = 2
MAX_SEED_SUGGESTIONS = 5
GENERATE_COUNT = 4

METHOD = (
    f" model_seed: your {TOP_WORKS} published works with the most likes from others (at least {MIN_WORK_LIKES} "
    "each); for each of your style models whose latest version was trained on one of them, the seed of 0..255 "
    "whose output is nearest that work in the originality descriptors (colour layout and edges at 32 px); "
    "confidence 1 / (1 + distance / the version's originality scale), 0.5 when the output is as far from the work "
    "as your training works are from each other. Where the version has latent directions, each is tried from that "
    "seed at amounts -2, -1, 1 and 2; one that comes at least 10% closer is offered as a mode edit body.")


def confidence(relative_distance: float) -> float:
    return 1.0 / (1.0 + max(relative_distance, 0.0))


def model_seed_suggestions(answers: Sequence[SeedSuggestion], titles: Mapping[str, str],
                           first_work: str | None) -> list[dict[str, Any]]:
    """The trainer's closest seeds as suggestions, in its order (most-liked work first)."""
    out: list[dict[str, Any]] = []
    for a in answers[:MAX_SEED_SUGGESTIONS]:
        title = titles.get(a.work_id, a.work_id)
        which = "your most-liked work" if a.work_id == first_work else "one of your most-liked works"
        out.append({
            "kind": "model_seed", "subject_type": "model", "subject": a.model_id,
            "title": f"Seed {a.seed} of '{a.model_name}' comes closest to '{title}' ({which})",
            "explanation": (
                f"Of the first 256 seeds of '{a.model_name}' (version {a.version}), seed {a.seed} makes the image "
                f"nearest to '{title}', which earned {a.likes} likes; its distance is {a.relative_distance:.2f} "
                "times the typical distance between your training works. Generate from it (the first image is "
                "that seed's) to explore what your audience liked."),
            "evidence": {"model_id": a.model_id, "version": a.version, "seed": a.seed, "work_id": a.work_id,
                         "likes": a.likes, "distance": a.distance, "relative_distance": a.relative_distance},
            "confidence": round(confidence(a.relative_distance), 5),
            "generate": {"model_id": a.model_id, "version": a.version, "mode": "sample", "seed": a.seed,
                         "count": GENERATE_COUNT},
            "generate_edit": None,
        })
        if a.direction is not None and a.amount is not None and a.edited_distance is not None:
            out[-1]["evidence"].update({"direction": a.direction, "amount": a.amount,
                                        "edited_distance": a.edited_distance})
            out[-1]["explanation"] += (
                f" Moving it along direction {a.direction} by {a.amount:+g} (mode edit) comes closer still "
                f"(distance {a.edited_distance:.3f} instead of {a.distance:.3f}).")
            out[-1]["generate_edit"] = {**out[-1]["generate"], "mode": "edit", "direction": a.direction,
                                        "amount": a.amount}
    return out


async def for_artist(conn: Conn, trainer: TrainerClient | None, user_id: str) -> list[dict[str, Any]]:
    """The `model_seed` suggestions; empty without liked works, models or a reachable trainer."""
    if trainer is None:
        return []
    works = await store.most_liked_works(conn, user_id, MIN_WORK_LIKES, TOP_WORKS)
    if not works:
        return []
    answers = await trainer.seed_suggestions(user_id, [(w.id, w.likes) for w in works])
    if not answers:
        return []
    return model_seed_suggestions(answers, {w.id: w.title for w in works}, works[0].id)
