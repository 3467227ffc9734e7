"""Request bodies of the inference API; the gateway validates with the same models, the service again."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

# The same limits as latents.py (a unit test checks they agree); not imported from there so that
# the gateway, which validates with these models, does not load numpy.
MAX_COUNT = 16
SEED_LIMIT = 2**63
MAX_TRUNCATION = 2.0
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Seed = Annotated[int, Field(ge=0, lt=SEED_LIMIT, strict=True)]
Mode = Literal["sample", "variations", "interpolate"]
MAX_PAGE = 100


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerationCreate(Strict):
    model_id: Id
    version: Annotated[int, Field(ge=0, strict=True)] | None = None
    count: Annotated[int, Field(ge=1, le=MAX_COUNT, strict=True)] = 4
    seed: Seed | None = None
    mode: Mode = "sample"
    truncation: Annotated[float, Field(gt=0, le=MAX_TRUNCATION)] | None = None
    base_seed: Seed | None = None
    target_seed: Seed | None = None
    strength: Annotated[float, Field(ge=0, le=1)] | None = None

    @model_validator(mode="after")
    def _mode_parameters(self) -> GenerationCreate:
        if self.mode == "interpolate" and self.target_seed is None:
            raise ValueError("mode 'interpolate' needs target_seed")
        if self.mode != "interpolate" and self.target_seed is not None:
            raise ValueError("target_seed is only used by mode 'interpolate'")
        if self.mode != "variations" and self.strength is not None:
            raise ValueError("strength is only used by mode 'variations'")
        if self.mode == "sample" and self.base_seed is not None:
            raise ValueError("base_seed is only used by modes 'variations' and 'interpolate'")
        return self


class GenerationRef(Strict):
    id: Id


class ListQuery(Strict):
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 20
    cursor: Annotated[str, StringConstraints(max_length=64)] | None = None


class RatingBody(Strict):
    score: Annotated[int, Field(ge=1, le=5, strict=True)]


class OutputRef(GenerationRef):
    index: Annotated[int, Field(ge=0, lt=MAX_COUNT)]


class RatingRequest(OutputRef, RatingBody):
    pass


class PublishBody(Strict):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(max_length=5000)] = ""
    tags: list[Annotated[str, StringConstraints(min_length=1, max_length=40)]] = Field(default_factory=list,
                                                                                       max_length=50)
    visibility: Literal["public", "unlisted", "private"] = "public"


class PublishRequest(OutputRef, PublishBody):
    pass


class TopRatedRequest(Strict):
    model_id: Id
    min_score: Annotated[int, Field(ge=1, le=5)] = 4
    limit: Annotated[int, Field(ge=1, le=500)] = 100


class VerifyRequest(Strict):
    content_type: Literal["image/png", "image/jpeg", "image/webp"]
    data_b64: Annotated[str, StringConstraints(min_length=1)]
