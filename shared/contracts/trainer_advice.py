"""Request and response models of the training-set advice (`svc.trainer.models.advice`, declared in
`shared.contracts.trainer`): which images of a style model's training set would blur the style
(outliers) or add nothing (near-duplicates), and which of the owner's other works would add coverage,
with the numbers behind each."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.contracts.common import Reply, Strict

AdviceKind = Literal["outlier", "near_duplicate", "coverage"]


class TrainingSetAdviceQuery(Strict):
    """`GET /v1/models/{id}/training-set/advice`: any other query parameter is a 422."""

    kind: AdviceKind | None = Field(None, description="Only advice of this kind: `outlier` (images far from the rest "
                                                      "of the set), `near_duplicate` (pairs of near copies) or "
                                                      "`coverage` (your works outside the set that would widen it)")


class TrainingSetAdviceRequest(TrainingSetAdviceQuery):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z]+$", description="The style model's id")


class AdviceImage(Reply):
    work_id: str = Field(description="The work the image belongs to")
    asset_id: str = Field(description="The image (an asset of that work)")


class TrainingSetAdviceItem(Reply):
    kind: AdviceKind
    images: list[AdviceImage] = Field(description="The image named (outlier, coverage) or the pair (near_duplicate)")
    title: str = Field(description="The advice in a few words")
    explanation: str = Field(description="Why, in plain words")
    score: float = Field(description="outlier: the robust z of its distance to the set (higher: farther); "
                                     "near_duplicate: how alike the pair is (1: identical); coverage: how many "
                                     "typical gaps between set images it lies from the nearest one")
    confidence: float = Field(ge=0, le=1, description="How sure the advice is (see `method`)")
    evidence: dict[str, float] = Field(description="The numbers behind it (distances, thresholds, hash bits)")


class TrainingSetAdvice(Reply):
    model_id: str
    images: int = Field(description="Images in the model's current training set")
    analysed: int = Field(description="Images analysed (the first ones, up to the service's limit; unreadable "
                                      "or deleted images are left out)")
    candidates: int = Field(description="Images of your other works (human-made, allowed for training, not in the "
                                        "set) compared with the set for coverage; 0 when `kind` excludes coverage")
    skipped: list[str] = Field(description="Asset ids that could not be read or analysed")
    items: list[TrainingSetAdviceItem] = Field(description="Outliers (farthest first), near-duplicate pairs (closest "
                                                           "first), then works that would add coverage (farthest "
                                                           "first); empty when nothing stands out")
    summary: dict[str, float] = Field(description="Set-wide figures (e.g. the median distance between two images)")
    method: str = Field(description="The features and the rules behind the advice")
