"""Insights and suggestions: what the artist's audience responds to, and what to try next."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.contracts.common import Reply, Strict
from shared.contracts.community.base import SERVICE, CommunityNoInput, Origin
from shared.contracts.operation import operation


class DailyCount(Reply):
    date: str = Field(description="A UTC day, YYYY-MM-DD")
    count: int


class EngagementTotals(Reply):
    works: int
    likes: int
    comments: int


class TagEngagement(EngagementTotals):
    tag: str


class OriginEngagement(EngagementTotals):
    origin: Origin


class TopWork(Reply):
    work_id: str
    title: str
    like_count: int
    palette: list[str] = Field(description="Dominant colours of the work's first asset (hex)")


class Insights(Reply):
    window_days: int
    totals: EngagementTotals
    likes_over_time: list[DailyCount]
    comments_over_time: list[DailyCount]
    by_tag: list[TagEngagement]
    by_origin: list[OriginEngagement]
    top_works: list[TopWork]
    palettes_available: bool = Field(description="False when the assets service could not give palettes")


SuggestionKind = Literal["resonates", "follow", "model_seed"]


class SuggestionsQuery(Strict):
    """`GET /v1/me/suggestions`: any other query parameter is a 422."""

    kind: SuggestionKind | None = Field(None, description="Only suggestions of this kind: `resonates` (tags and "
                                                          "origins that earn you clearly more likes) or `follow` "
                                                          "(artists whose audience overlaps yours) or "
                                                          "`model_seed` (seeds of your style models whose outputs "
                                                          "come closest to your most-liked works)")


class SuggestedGeneration(Reply):
    """A body `POST /v1/generations` accepts as it is: output 0 is the suggested seed's image."""

    model_id: str
    version: int
    mode: Literal["sample"] = "sample"
    seed: int = Field(ge=0)
    count: int = Field(ge=1)


class SuggestedEdit(Reply):
    """A mode `edit` body `POST /v1/generations` accepts as it is: output 0 is the seed moved along the
    direction."""

    model_id: str
    version: int
    mode: Literal["edit"] = "edit"
    seed: int = Field(ge=0)
    count: int = Field(ge=1)
    direction: int = Field(ge=1)
    amount: float


class Suggestion(Reply):
    kind: SuggestionKind
    subject_type: Literal["tag", "origin", "artist", "model"] = Field(description="What the suggestion is about")
    subject: str = Field(description="The tag, the origin, the artist's username or the style model's id")
    title: str = Field(description="The suggestion in a few words")
    explanation: str = Field(description="Why, in plain words")
    evidence: dict[str, int | float | str] = Field(
        description="The numbers behind it (counts, rates, probabilities; for `model_seed` also the model and "
                    "work ids)")
    confidence: float = Field(ge=0, le=1, description="How sure the model is (a posterior probability; for "
                                                      "`model_seed` how close the seed's output comes, see `method`)")
    generate: SuggestedGeneration | None = Field(None, description="`model_seed`: a ready `POST /v1/generations` "
                                                                   "body; null for the other kinds")
    generate_edit: SuggestedEdit | None = Field(None, description="`model_seed`, when one of the version's latent "
                                                                  "directions brings the seed's output closer still: "
                                                                  "the mode `edit` body; else null")


class Suggestions(Reply):
    items: list[Suggestion] = Field(description="`resonates` (most confident first), then `follow` (most similar "
                                                 "first), then `model_seed` (most-liked work first); empty when the "
                                                 "data says nothing clearly")
    method: str = Field(description="How the suggestions were derived, and what exposure was assumed")


INSIGHTS_GET = operation(SERVICE, "insights.get", CommunityNoInput, Insights,
                         summary="Likes and comments over time, by tag and origin, and palettes of your most "
                                 "liked works")

SUGGESTIONS_GET = operation(SERVICE, "suggestions.get", SuggestionsQuery, Suggestions,
                            summary="Explained suggestions: what resonates with your audience (only when "
                                    "credible), artists whose audiences overlap yours and seeds of your style "
                                    "models closest to your most-liked works", timeout_s=30.0)
