"""The trainer's operations (`svc.trainer.*`): style models, their training jobs, cancel and refine.

Every operation acts as the calling user; someone else's model is a 404, like a missing one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StringConstraints, model_validator

from shared.contracts.common import Listing, Reply, Strict
from shared.contracts.licences import ALL_RIGHTS_RESERVED, CUSTOM, LicenceTerms, SpdxLicence
from shared.contracts.operation import operation
from shared.contracts.trainer_advice import TrainingSetAdvice, TrainingSetAdviceRequest
from shared.contracts.trainer_seeds import SeedSuggestions, SeedSuggestionsRequest

SERVICE = "trainer"
MAX_STEPS = 20_000
MAX_WORKS = 1000
MAX_LIMIT = 100

# Model, work and collection ids are ULIDs: anything else is refused before it reaches SQL.
ModelId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z]+$")]
Architecture = Literal["dcgan", "collage", "vae"]
ModelStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]
JobKind = Literal["train", "refine"]
Visibility = Literal["private", "public"]
# CAWG training-and-data-mining `use` of the images generated from a model.
TrainingMining = Literal["notAllowed", "allowed", "constrained"]
# Models carry the same licences as works (shared/contracts/licences.py). The four lower-case names
# the API took before SPDX identifiers are still accepted and read as the identifiers they mean.
LEGACY_LICENCES = {"all-rights-reserved": ALL_RIGHTS_RESERVED, "cc-by-4.0": "CC-BY-4.0", "cc-by-nc-4.0": "CC-BY-NC-4.0",
                   "cc0-1.0": "CC0-1.0"}
Licence = Annotated[SpdxLicence, BeforeValidator(lambda v: LEGACY_LICENCES.get(v, v) if isinstance(v, str) else v)]
VersionStatus = Literal["active", "consent_withdrawn"]
ListSort = Literal["new", "popular"]


# -- requests -------------------------------------------------------------------------------------


class StyleModelCreate(Strict):
    """A new style model trained on consented works: a list of works or one collection."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    architecture: Architecture = Field(description=(
        "dcgan: a convolutional GAN, for any style; collage: a GAN whose generator draws flat-colour "
        "circles, rectangles and triangles, for hard-edged graphic styles; vae: smoother, faster"))
    work_ids: Annotated[list[ModelId], Field(min_length=1, max_length=MAX_WORKS)] | None = Field(
        None, description="the works to train on (give this or collection_id)")
    collection_id: ModelId | None = Field(None, description="train on a collection's works (or give work_ids)")
    image_size: Literal[32, 64, 128] = 64
    steps: Annotated[int, Field(ge=1, le=MAX_STEPS)]
    batch_size: Annotated[int, Field(ge=1, le=256)] = Field(
        16, description="images per step (16 suits the few-shot recipe at 64 px on the CPU)")
    augment: bool | None = Field(None, description="flips, small crops and colour jitter; "
                                 "unset: on when the dataset is small")
    width: Annotated[int, Field(ge=8, le=128)] | None = Field(
        None, description="channels of the largest feature map (model capacity); smaller trains faster; "
                    "unset: the trainer's default (16)")
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    licence: Licence = Field(ALL_RIGHTS_RESERVED, description="the model's licence (see PATCH)")
    licence_terms: LicenceTerms = Field("", description=f"your own terms (required with {CUSTOM})")
    commercial_use: bool = Field(False, description="whether images generated from it may be used commercially")

    @model_validator(mode="after")
    def _one_source(self) -> StyleModelCreate:
        if (self.work_ids is None) == (self.collection_id is None):
            raise ValueError("give either work_ids or collection_id")
        if self.licence == CUSTOM and not self.licence_terms.strip():
            raise ValueError(f"licence {CUSTOM} needs licence_terms")
        return self


class StyleModelRefineBody(Strict):
    """What a client sends to refine a model (the model is named in the path)."""

    steps: Annotated[int, Field(ge=1, le=MAX_STEPS)]
    min_score: Annotated[int, Field(ge=1, le=5)] | None = Field(
        None, description="the lowest rating of your generations that joins the dataset (default 4)")


class StyleModelRef(Strict):
    """One of the caller's style models."""

    id: ModelId = Field(description="The style model's id (a ULID)")


class StyleModelRefine(StyleModelRefineBody, StyleModelRef):
    """Refine the model `id`: a new version fine-tuned from its latest one."""


class StyleModelVersionRef(StyleModelRef):
    """One version of one of the caller's style models."""

    version: Annotated[int, Field(ge=1, le=1_000_000)] = Field(description="The version number (1 is the first)")


class StyleModelListQuery(Strict):
    """`?owner=&sort=&limit=&cursor=`: your models (no `owner`), one user's public models (`owner`=
    their id; all of yours when it is you) or every public model (`owner=all`); a limit above 100 is a 422."""

    owner: ModelId | None = Field(None, description="a user id, or `all` for every public model; "
                                  "absent: your own models")
    sort: ListSort = Field("new", description="new: newest first; popular: most generations first")
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = Field(20, description=f"Models per page (at most {MAX_LIMIT})")
    # Any text up to 128 characters: one that is not a `next_cursor` is a 400, from the service.
    cursor: Annotated[str, StringConstraints(max_length=128)] | None = Field(
        None, description="`next_cursor` of the previous page")


class StyleModelSettings(Strict):
    """What an owner may change about a model (each field optional)."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    visibility: Visibility | None = Field(None, description="private: you only; public: a page anyone can read "
                                          "and anyone signed in can generate from it")
    training_mining: TrainingMining | None = Field(
        None, description="what generated images' C2PA manifests say about training AI on them (CAWG)")
    licence: Licence | None = Field(None, description="the licence of the model and the images generated from it: an "
                                    f"SPDX identifier from the allow-list, {ALL_RIGHTS_RESERVED} or {CUSTOM} "
                                    "(with licence_terms)")
    licence_terms: LicenceTerms | None = Field(None, description=f"your own terms (required with {CUSTOM})")
    commercial_use: bool | None = Field(None, description="whether images generated from it may be used commercially")

    @model_validator(mode="after")
    def _custom_has_terms(self) -> StyleModelSettings:
        if self.licence == CUSTOM and not (self.licence_terms or "").strip():
            raise ValueError(f"licence {CUSTOM} needs licence_terms")
        return self


class StyleModelUpdate(StyleModelSettings, StyleModelRef):
    """Change the settings of the model `id`."""


class StyleModelRetrainBody(Strict):
    """Retrain without the works whose consent was withdrawn (a new version, trained from scratch)."""

    steps: Annotated[int, Field(ge=1, le=MAX_STEPS)] | None = Field(
        None, description="default: the steps of the model's first training")


class StyleModelRetrain(StyleModelRetrainBody, StyleModelRef):
    """Retrain the model `id`."""


class TrainingUsesQuery(Strict):
    """`?limit=&cursor=` over your works that trained models."""

    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = Field(20, description=f"Works per page (at most {MAX_LIMIT})")
    cursor: ModelId | None = Field(None, description="`next_cursor` of the previous page")


# -- responses ------------------------------------------------------------------------------------


class TrainingProgressView(Reply):
    """The latest job of a model, as it runs."""

    version: int = Field(description="the version this job trains")
    kind: JobKind
    step: int
    total_steps: int
    losses: dict[str, float] = Field(description="the latest loss values by name")
    eta_s: float | None = Field(None, description="estimated seconds left")
    resumed_from_step: int | None = Field(None, description="set when a worker resumed the job from its checkpoint")
    checkpoint_step: int | None = Field(None, description="the step of the latest checkpoint written")
    attempts: int = Field(description="how many times a worker started the job")
    cancel_requested: bool


class TrainingShare(Reply):
    """One work of a version's training set."""

    work_id: str
    author_id: str
    images: int = Field(description="images of this work in the training set")
    share: float = Field(description="fraction of the training set's images")


class StyleModelVersion(Reply):
    """A trained version of a style model, served by Triton from `repository_path`."""

    version: int
    created_at: datetime
    metrics: dict[str, Any] = Field(description=(
        "swd and swd_untrained (sliced Wasserstein distance x 1e3 on Laplacian-pyramid patches, lower is "
        "closer to the training images); with 12 works or more every 5th is held out of training: "
        "swd_heldout and swd_heldout_untrained measure against those unseen works (train_works, "
        "heldout_works count them); precision (samples that look like some work) and recall (works some "
        "sample resembles; a collapsed model scores low), recall_heldout; memorisation_nn_distance_mean, "
        "memorisation_originality_median / _p05 (distance of samples to their nearest training work over "
        "the typical distance between works) and memorisation_near_copy_fraction; recipe; recon_error and "
        "recon_error_untrained for VAEs; onnx_max_abs_diff of the export against torch; for a refine, "
        "liked_outputs and swd_liked_before / swd_liked_after (distance to the outputs the audience liked, "
        "before and after refining)"))
    dataset_sha256: str
    steps: int = Field(description="the steps this version was trained for")
    repository_path: str = Field(description="the version's folder in the Triton model repository")
    sample_asset_id: str | None = Field(None, description="the asset id of the final sample grid")
    status: VersionStatus = Field(default="active", description="consent_withdrawn: works it was trained on lost their "
                                  "consent; it is no longer served (retrain without them)")
    withdrawn_work_ids: list[str] = Field(default_factory=list, description="the works whose consent was withdrawn")
    withdrawn_at: datetime | None = None
    training_works: list[TrainingShare] = Field(default_factory=list,
                                                description="the training record: which works, of which artists")
    training_record: Literal["recorded", "unavailable"] = Field(
        default="recorded", description="unavailable: the version was trained before training records were kept, "
                                        "so which works it learned from is not known (training_works is empty)")
    generations: int = Field(default=0, description="generations made from this version")


class StyleModel(Reply):
    """A style model: its configuration, the latest job's status and progress, versions, sample grids."""

    id: str
    name: str
    owner_id: str
    architecture: Architecture
    image_size: int
    width: int
    status: ModelStatus = Field(description="the status of the latest job")
    error: str | None = Field(None, description="why the latest job failed")
    work_ids: list[str]
    collection_id: str | None = None
    created_at: datetime
    progress: TrainingProgressView | None
    versions: list[StyleModelVersion]
    latest_version: int | None
    samples: list[str] = Field(description="sample-grid asset ids, newest first")
    visibility: Visibility = "private"
    training_mining: TrainingMining = "notAllowed"
    licence: str = Field(default=ALL_RIGHTS_RESERVED, description="SPDX identifier (or LicenseRef-*) of its licence")
    licence_terms: str = Field(default="", description="the owner's own terms, if any")
    commercial_use: bool = Field(default=False, description="whether images generated from it may be used "
                                 "commercially")
    generations: int = Field(default=0, description="generations made from this model")
    consent_withdrawn: bool = Field(default=False, description="true when a version lost consent for works it was "
                                    "trained on (see versions[].withdrawn_work_ids)")


class StyleModelStep(Reply):
    """Where the latest job of a listed model stands (null before its first step is known)."""

    step: int | None
    total_steps: int | None


class StyleModelVersionNumber(Reply):
    version: int
    status: Literal["active", "consent_withdrawn"] = Field(
        "active", description="consent_withdrawn: a training work's consent ended; it cannot be generated from")


class StyleModelSummary(Reply):
    """A style model in a list."""

    id: str
    name: str
    architecture: Architecture
    image_size: int
    status: ModelStatus
    created_at: datetime
    progress: StyleModelStep
    versions: list[StyleModelVersionNumber]
    latest_version: int | None
    owner_id: str = ""
    visibility: Visibility = "private"
    generations: int = 0


class StyleModelListing(Listing[StyleModelSummary]):
    """One page of the caller's style models, newest first."""


class LatentDirection(Reply):
    """A direction in the model's latent space (principal directions of its first layer, GANSpace):
    generate with mode `edit`, `direction` = this id, to move an image along it."""

    id: int = Field(description="what `direction` names in an edit generation")
    label: str
    variance_share: float = Field(description="share of the first layer's variance along this direction "
                                              "(larger: a stronger change per unit of amount)")


class LatentDirections(Reply):
    """The latent directions of a model version, strongest first (empty for a version without any)."""

    model_id: str
    version: int
    max_amount: float = Field(description="|amount| of an edit generation may be at most this")
    directions: list[LatentDirection]


class StyleModelAccepted(Reply):
    """A cancel or a refine was accepted."""

    id: str = Field(description="the style model's id")
    status: Literal["queued", "canceled", "canceling"] = Field(
        description="queued: a refine waits for a worker; canceled: the job had not started; canceling: the "
                    "running job stops within seconds")
    version: int = Field(description="the version the job trains")


# -- operations -----------------------------------------------------------------------------------

MODELS_CREATE = operation(
    SERVICE, "models.create", StyleModelCreate, StyleModel,
    summary="Train a style model on consented works (queued; watch progress on /v1/events)",
    problems=(404, 422, 429), timeout_s=30.0)  # asks community for consent before queueing
MODELS_GET = operation(
    SERVICE, "models.get", StyleModelRef, StyleModel,
    summary="A style model: status, progress, versions with metrics, sample grids (someone else's private "
            "model is a 404)", problems=(404,), actor="optional")
MODELS_DIRECTIONS = operation(
    SERVICE, "models.directions", StyleModelVersionRef, LatentDirections,
    summary="A version's latent directions, for generations in mode edit (your model or a public one)",
    problems=(404,))
MODELS_LIST = operation(
    SERVICE, "models.list", StyleModelListQuery, StyleModelListing,
    summary="Your style models, or public ones (`owner`), newest or most used first", problems=(400,))
MODELS_CANCEL = operation(
    SERVICE, "models.cancel", StyleModelRef, StyleModelAccepted,
    summary="Cancel the queued or running job (a running one stops within seconds)", problems=(404, 409))
MODELS_REFINE = operation(
    SERVICE, "models.refine", StyleModelRefine, StyleModelAccepted,
    summary="Fine-tune the latest version on the original works plus your top-rated generations",
    problems=(404, 409, 422, 429))


class TrainingUseVersion(Reply):
    version: int
    share: float = Field(description="the work's fraction of this version's training images")
    status: VersionStatus
    withdrawn_at: datetime | None = None
    generations: int = Field(description="generations made from this version")


class TrainingUseModel(Reply):
    model_id: str
    name: str
    owner_id: str
    visibility: Visibility
    versions: list[TrainingUseVersion]


class TrainingUse(Reply):
    """One of your works and the models trained on it."""

    work_id: str
    withdrawn: bool = Field(description="its consent was withdrawn (or it was deleted)")
    models: list[TrainingUseModel]


class TrainingUses(Listing[TrainingUse]):
    """Your works that trained style models, newest work first."""


MODELS_UPDATE = operation(
    SERVICE, "models.update", StyleModelUpdate, StyleModel,
    summary="Change a model's name, visibility, licence or what its images allow for AI training", problems=(404,))
MODELS_RETRAIN = operation(
    SERVICE, "models.retrain", StyleModelRetrain, StyleModelAccepted,
    summary="Retrain without the works whose consent was withdrawn (a new version)",
    problems=(404, 409, 422, 429))
TRAINING_USES = operation(
    SERVICE, "training.uses", TrainingUsesQuery, TrainingUses,
    summary="Where your works were used: per work, the models and versions trained on it")

# Training-set advice (issue 21): the models are in shared/contracts/trainer_advice.py.
MODELS_ADVICE = operation(
    SERVICE, "models.advice", TrainingSetAdviceRequest, TrainingSetAdvice,
    summary="Advice on your model's training set: images far from the rest (would blur the style) and "
            "near-duplicate pairs (would add nothing), each with its evidence", problems=(404,), timeout_s=60.0)

# Seed suggestions (issue 21): the models are in shared/contracts/trainer_seeds.py; only community calls it.
MODELS_SEED_SUGGESTIONS = operation(
    SERVICE, "models.seed_suggestions", SeedSuggestionsRequest, SeedSuggestions,
    summary="Seeds of your style models whose outputs come closest to the given works of their training sets",
    timeout_s=20.0)
