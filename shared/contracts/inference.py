"""The inference service's operations (`svc.inference.*`): generations, ratings, publishing, provenance.

Gateway-facing operations act as the calling user; `provenance.verify` takes anyone (a token only
has to be valid); `ratings.top` is internal (the trainer's refine reads the owner's best outputs).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, RootModel, StringConstraints, model_validator

from shared.contracts.common import Id, Listing, Reply, Strict
from shared.contracts.operation import Operation, operation

SERVICE = "inference"
# The same limits as services/inference/latents.py (a unit test checks they agree); not imported
# from there so that callers validating with these models do not load numpy.
MAX_COUNT = 16
SEED_LIMIT = 2**63
MAX_TRUNCATION = 2.0
MAX_EDIT_AMOUNT = 5.0
MAX_DIRECTIONS = 64
MAX_PAGE = 100
Seed = Annotated[int, Field(ge=0, lt=SEED_LIMIT, strict=True)]
Mode = Literal["sample", "variations", "interpolate", "edit"]
GenerationStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]
Visibility = Literal["public", "unlisted", "private"]
ImageType = Literal["image/png", "image/jpeg", "image/webp"]
IMAGE_TYPES: tuple[ImageType, ...] = ("image/png", "image/jpeg", "image/webp")

# --- requests ----------------------------------------------------------------------------------------


class GenerationCreate(Strict):
    """What to generate: a model (and version), how many images, and the mode with its parameters."""

    model_id: Id = Field(description="The style model")
    version: Annotated[int, Field(ge=0, strict=True)] | None = Field(
        None, description="A model version; the latest ready one when left out")
    count: Annotated[int, Field(ge=1, le=MAX_COUNT, strict=True)] = Field(4, description="Images to make")
    seed: Seed | None = Field(None, description="Seed of the first image; random when left out")
    mode: Mode = "sample"
    truncation: Annotated[float, Field(gt=0, le=MAX_TRUNCATION)] | None = Field(
        None, description="Truncation of the latent distribution (smaller: more typical images)")
    base_seed: Seed | None = Field(None, description="Modes variations and interpolate: the starting latent")
    target_seed: Seed | None = Field(None, description="Mode interpolate: the latent to move towards")
    strength: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None, description="Mode variations: how far variations stray from the base")
    direction: Annotated[int, Field(ge=1, le=MAX_DIRECTIONS, strict=True)] | None = Field(
        None, description="Mode edit: the id of a latent direction of the version "
                          "(GET /v1/models/{id}/versions/{version}/directions)")
    amount: Annotated[float, Field(ge=-MAX_EDIT_AMOUNT, le=MAX_EDIT_AMOUNT)] | None = Field(
        None, description=f"Mode edit: how far to move each seed's latent along the direction, in standard "
                          f"deviations (-{MAX_EDIT_AMOUNT:g}..{MAX_EDIT_AMOUNT:g}; 0 is the seed's own image)")

    @model_validator(mode="after")
    def _mode_parameters(self) -> GenerationCreate:
        if self.mode == "edit" and (self.direction is None or self.amount is None):
            raise ValueError("mode 'edit' needs direction and amount")
        if self.mode != "edit" and (self.direction is not None or self.amount is not None):
            raise ValueError("direction and amount are only used by mode 'edit'")
        if self.mode == "edit" and self.base_seed is not None:
            raise ValueError("base_seed is only used by modes 'variations' and 'interpolate'")
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
    id: Id = Field(description="The generation's id (a ULID)")


class GenerationListQuery(Strict):
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = Field(20, description=f"Items per page (1..{MAX_PAGE})")
    cursor: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, description="`next_cursor` of the previous page")


class OutputRatingBody(Strict):
    score: Annotated[int, Field(ge=1, le=5, strict=True)] = Field(description="1 (worst) to 5 (best)")


class OutputRef(GenerationRef):
    index: Annotated[int, Field(ge=0, lt=MAX_COUNT)] = Field(description="The output's position in the generation")


class OutputRatingRequest(OutputRef, OutputRatingBody):
    pass


class OutputPublishBody(Strict):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(max_length=5000)] = ""
    tags: list[Annotated[str, StringConstraints(min_length=1, max_length=40)]] = Field(default_factory=list,
                                                                                       max_length=50)
    visibility: Visibility = "public"
    acknowledge_near_copy: bool = Field(
        False, description="Required (true) to publish an output marked a near copy of a training work")


class OutputPublishRequest(OutputRef, OutputPublishBody):
    pass


class RatingsTopRequest(Strict):
    model_id: Id = Field(description="The model whose owner's ratings are read")
    min_score: Annotated[int, Field(ge=1, le=5)] = 4
    limit: Annotated[int, Field(ge=1, le=500)] = 100


class ProvenanceVerifyRequest(Strict):
    content_type: ImageType
    data_b64: Annotated[str, StringConstraints(min_length=1)] = Field(description="The image, base64-encoded")


# --- responses ---------------------------------------------------------------------------------------


class GenerationAccepted(Reply):
    id: str = Field(description="The generation's id: poll GET /v1/generations/{id} or watch /v1/events")
    status: GenerationStatus = Field(description="`queued`; a retried Idempotency-Key answers the current status")


class OutputOriginality(Reply):
    """How far an output is from the nearest work its model was trained on."""

    distance: float = Field(description="descriptor distance to the nearest training work")
    originality: float = Field(description="that distance over the typical distance between two training works "
                                           "(about 1 for a new image of the style, near 0 for a copy)")
    near_copy: bool = Field(description="below the version's near-copy threshold: publishing it needs "
                                        "acknowledge_near_copy")
    nearest_work_id: str = Field(description="the training work it is closest to")


class GeneratedImage(Reply):
    index: int
    asset_id: str
    seed: int
    image_sha256: str = Field(description="sha256 of the PNG before signing: the same for the same model version, "
                                          "mode, parameters and seed (below 128 px, where no watermark is embedded)")
    width: int
    height: int
    score: int | None = Field(description="Your rating, 1..5, or null")
    content_url: str = Field(description="Where the signed PNG is downloaded")
    originality: OutputOriginality | None = Field(
        None, description="Distance to the nearest training work (null: the version ships no reference)")


class Generation(Reply):
    id: str
    status: GenerationStatus
    model_id: str
    version: int
    mode: Mode
    count: int
    seed: int
    params: dict[str, Any] = Field(description="The mode's parameters as given (and signed)")
    outputs: list[GeneratedImage]
    error: str | None = Field(None, description="Why it failed (only on failed generations)")
    queue_position: int | None = Field(
        None, description="While queued: 1 when it starts next, N when N-1 queued generations are ahead of it")
    eta_s: float | None = Field(
        None, description="While queued or running: estimated seconds until it finishes, from the images still "
                          "to make ahead of it and its own, times the recent measured seconds per image (null "
                          "until some generation has been timed)")
    created_at: datetime
    finished_at: datetime | None


class GenerationCanceled(Reply):
    id: str
    status: Literal["canceled"]
    outputs_made: int = Field(description="Outputs stored before the cancel (they are kept); the rest are not made")


class GenerationPage(Listing[Generation]):
    """Your generations, newest first."""


class PublishedWorkModel(Reply):
    id: str
    version: int | None
    owner_id: str | None


class PublishedWork(Reply):
    """The work the output was published as (the community's work, origin `ai`)."""

    id: str = Field(description="The work's id")
    title: str
    visibility: Visibility
    origin: Literal["ai"]
    asset_ids: list[str]
    model: PublishedWorkModel | None = Field(description="The model credited, with its owner")
    generation_id: str | None


class ValidationFailure(Reply):
    code: str | None
    explanation: str | None


class TracedGeneration(Reply):
    """Enough to trace an image, nothing private: no owner, no other outputs."""

    id: str
    model_id: str
    version: int
    mode: Mode
    created_at: datetime
    matched_by: Literal["signed_bytes", "watermark"]
    index: int | None = Field(description="The output, when found by its signed bytes")


class ManifestTraining(Reply):
    """A manifest's word on AI training: its training-and-data-mining assertion and source types."""

    declared: bool = Field(description="the manifest has a training-and-data-mining assertion")
    allowed: bool | None = Field(description="every use is `allowed` (null when nothing is declared)")
    uses: dict[str, str] = Field(description="use per kind, e.g. cawg.ai_training: notAllowed")
    source_types: list[str] = Field(description="digitalSourceType of its actions, e.g. trainedAlgorithmicMedia")
    model: dict[str, Any] | None = Field(description="the style model version and its dataset hash, for images "
                                                     "generated here")


class ProvenanceVerdict(Reply):
    state: Literal["valid", "untrusted", "tampered", "absent"]
    manifest: dict[str, Any] | None = Field(description="The active C2PA manifest")
    validation_errors: list[ValidationFailure]
    watermark_id: str | None = Field(description="8 hex digits found in the pixels")
    generation: TracedGeneration | None = Field(
        description="The generation the image came from, found by its signed bytes or, once metadata was "
                    "stripped, by its watermark (128 px and larger)")
    training: ManifestTraining | None = Field(
        None, description="What the manifest says about training AI on the image and what made it (null "
                          "without a manifest)")


class TopRatedOutput(Reply):
    generation_id: str
    index: int
    asset_id: str
    score: int | None = Field(description="The owner's rating when at least `min_score`, else null")
    seed: int
    version: int
    likes: int = Field(0, ge=0, description="Likes from others on the work it was published as")


class TopRatedOutputs(RootModel[list[TopRatedOutput]]):
    """The model owner's outputs rated at least `min_score` or published and liked by others,
    best rated first, then the liked ones (a JSON array)."""


# --- operations --------------------------------------------------------------------------------------

GENERATIONS_CREATE = operation(
    SERVICE, "generations.create", GenerationCreate, GenerationAccepted,
    summary="Generate images from a style model (queued; poll the generation or watch /v1/events); "
            "a version whose training consent was withdrawn is a 410; on someone else's priced model the price "
            "is reserved from your credits (402 with balance and needed when short)",
    problems=(402, 404, 409, 410, 429, 503))
GENERATIONS_GET = operation(SERVICE, "generations.get", GenerationRef, Generation,
                            summary="A generation with its outputs", problems=(404,))
GENERATIONS_CANCEL = operation(
    SERVICE, "generations.cancel", GenerationRef, GenerationCanceled,
    summary="Cancel a generation: a queued one at once, a running one makes no further outputs",
    problems=(404, 409))
GENERATIONS_LIST = operation(SERVICE, "generations.list", GenerationListQuery, GenerationPage,
                             summary="Your generations, newest first", problems=(400,))
# No answer body (204): the response type is only a placeholder for the checker.
OUTPUTS_RATE: Operation[OutputRatingRequest, BaseModel] = operation(SERVICE, "outputs.rate", OutputRatingRequest, None,
                         summary="Rate an output 1..5 (refine trains on your best-rated outputs)",
                         problems=(404, 409))
OUTPUTS_PUBLISH = operation(SERVICE, "outputs.publish", OutputPublishRequest, PublishedWork,
                            summary="Publish an output as a work (origin ai, crediting the model and its owner)",
                            problems=(404, 409, 503))
PROVENANCE_VERIFY = operation(SERVICE, "provenance.verify", ProvenanceVerifyRequest, ProvenanceVerdict,
                              summary="Check an image's C2PA manifest and find the generation it came from",
                              problems=(413,), actor="optional", timeout_s=30.0)
RATINGS_TOP = operation(SERVICE, "ratings.top", RatingsTopRequest, TopRatedOutputs,
                        summary="The model owner's best-rated outputs of a model (the trainer's refine)",
                        problems=(404,), actor="none")
