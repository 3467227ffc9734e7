"""Request bodies of the trainer's operations: validated by the gateway and again by the service."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z]+$")]
MAX_STEPS = 20_000
MAX_WORKS = 1000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelCreate(Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    architecture: Literal["dcgan", "vae"]
    work_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_WORKS)] | None = None
    collection_id: Id | None = None
    image_size: Literal[32, 64, 128] = 64
    steps: Annotated[int, Field(ge=1, le=MAX_STEPS)]
    batch_size: Annotated[int, Field(ge=1, le=256)] = 32
    augment: bool | None = Field(None, description="flips, small crops and colour jitter; "
                                 "unset: on when the dataset is small")
    width: Annotated[int, Field(ge=8, le=128)] | None = Field(
        None, description="channels of the largest feature map (model capacity); smaller trains faster")
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0

    @model_validator(mode="after")
    def _one_source(self) -> ModelCreate:
        if (self.work_ids is None) == (self.collection_id is None):
            raise ValueError("give either work_ids or collection_id")
        return self


class RefineBody(Strict):
    steps: Annotated[int, Field(ge=1, le=MAX_STEPS)]
    min_score: Annotated[int, Field(ge=1, le=5)] | None = Field(
        None, description="the lowest rating of your generations that joins the dataset (default 4)")


class RefineRequest(RefineBody):
    id: Id


class ModelRef(Strict):
    id: Id


class ListQuery(Strict):
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Id | None = None
