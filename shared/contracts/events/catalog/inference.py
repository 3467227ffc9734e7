"""Events of the inference service: a generation's progress, completion, failure or cancelation."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.events.catalog.types import (
    GenerationMode,
)
from shared.contracts.events.registry import EventPayload


class GenerationOutput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int = Field(ge=0)
    asset_id: str
    seed: int


class GenerationCompleted(EventPayload, subject="inference.generation.completed"):
    """All images of a generation request are stored and signed."""

    generation_id: str
    owner_id: str
    model_id: str
    version: int
    mode: GenerationMode = "sample"
    outputs: list[GenerationOutput]


class GenerationFailed(EventPayload, subject="inference.generation.failed"):
    """A generation request could not be served."""

    generation_id: str
    owner_id: str
    model_id: str
    version: int | None = None
    error: str


class GenerationProgress(EventPayload, subject="inference.generation.progress"):
    """One output of a generation is stored and signed (sent once per output, as they land)."""

    generation_id: str
    owner_id: str
    model_id: str
    version: int
    index: int = Field(ge=0)
    asset_id: str
    seed: int
    count: int = Field(description="Outputs the generation makes in all")


class GenerationCanceled(EventPayload, subject="inference.generation.canceled"):
    """Its owner canceled a generation; outputs stored before the cancel are kept, no more are made."""

    generation_id: str
    owner_id: str
    model_id: str
    version: int
    outputs_made: int = Field(ge=0)
