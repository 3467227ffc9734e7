"""Request and response models of the seed suggestions (`svc.trainer.models.seed_suggestions`,
declared in `shared.contracts.trainer`): for each of the calling artist's style models, the seeds whose
outputs come closest to the artist's most-liked works that trained it. Only community calls it, as the
artist, with the works it picked; the seeds are generation seeds (`POST /v1/generations`, mode
`sample`, reproduce the output)."""

from __future__ import annotations

from pydantic import Field

from shared.contracts.common import Reply, Strict

MAX_WORKS = 20


class LikedWork(Strict):
    work_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z]+$", description="One of your works")
    likes: int = Field(ge=0, description="Its likes from others (passed back with the answer)")


class SeedSuggestionsRequest(Strict):
    works: list[LikedWork] = Field(max_length=MAX_WORKS, description="Your most-liked works, most liked first")


class SeedSuggestion(Reply):
    model_id: str
    model_name: str
    version: int = Field(description="The version searched: the model's latest, servable one")
    work_id: str = Field(description="The liked work this seed comes closest to")
    likes: int
    seed: int = Field(ge=0, description="Generate mode `sample` from this seed (count 1) to get this output")
    distance: float = Field(ge=0, description="Descriptor distance from the seed's output to the nearest image "
                                              "of the work (shared/originality.py descriptors)")
    relative_distance: float = Field(ge=0, description="`distance` over the version's originality scale (the "
                                                       "median distance between a training work and its nearest "
                                                       "other one): below 1 is closer than works are to each other")
    direction: int | None = Field(None, description="A latent direction of the version (mode `edit`) that, from "
                                                    "this seed, comes at least 10 % closer to the work; null if none")
    amount: float | None = Field(None, description="How far along `direction` (mode `edit` amount)")
    edited_distance: float | None = Field(None, ge=0, description="The edited output's distance to the work")


class SeedSuggestions(Reply):
    items: list[SeedSuggestion] = Field(description="One per (model, liked work in its training set), the liked "
                                                    "work's order, closest model first")
    seeds_searched: int = Field(description="Seeds tried per model version (0 .. seeds_searched - 1)")
    still_searching: int = Field(description="Model versions whose search outlasted this request: it goes on, "
                                             "and asking again shortly answers them too")
