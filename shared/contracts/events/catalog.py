"""Every event and job the platform publishes, with its payload.

The JSON Schemas shipped in `shared/contracts/events/schemas/` are generated from these classes
(`make schemas`); a test fails when they drift. Add fields freely; never rename or remove one
that subscribers may read without a new subject.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.events.registry import EventPayload

Origin = Literal["human", "ai", "collab"]
Visibility = Literal["public", "unlisted", "private"]
AssetKind = Literal["upload", "generated", "sample"]
Architecture = Literal["dcgan", "vae"]
GenerationMode = Literal["sample", "variations", "interpolate", "edit"]
# CAWG training-and-data-mining `use` values.
TrainingMining = Literal["notAllowed", "allowed", "constrained"]
# Why a work's consent ended: its author switched training off, deleted it, or deleted the account.
ConsentReason = Literal["consent_withdrawn", "account_consent_withdrawn", "work_deleted", "account_deleted"]


# --- community -------------------------------------------------------------------------------


class UserCreated(EventPayload, subject="community.user.created"):
    """A new account exists."""

    user_id: str
    username: str


class UserDeleted(EventPayload, subject="community.user.deleted"):
    """An account was deleted with its works, likes, comments and collections: delete what else
    belongs to the user (assets, models, consent to training: models trained on its works lose their
    consent), refuse the user's tokens."""

    user_id: str
    username: str
    deleted_at: datetime


class UserCredentialsChanged(EventPayload, subject="community.user.credentials_changed"):
    """The user's password changed: tokens issued before `not_before` must be refused."""

    user_id: str
    not_before: datetime = Field(description="Tokens issued earlier than this (ms precision) are revoked")


class WorkPublished(EventPayload, subject="community.work.published"):
    """A work became visible to others (public or unlisted)."""

    work_id: str
    author_id: str
    title: str
    origin: Origin
    tags: list[str]
    asset_ids: list[str]
    visibility: Literal["public", "unlisted"]
    allow_training: bool = False
    model_id: str | None = None
    model_version: int | None = None
    model_owner_id: str | None = None
    published_at: datetime | None = None
    licence: str = Field("LicenseRef-All-Rights-Reserved", description="SPDX identifier or LicenseRef-*")


class UserTrainingConsentChanged(EventPayload, subject="community.user.training_consent_changed"):
    """A user switched training on their works on or off for the whole account."""

    user_id: str
    allow_training: bool


class WorkUpdated(EventPayload, subject="community.work.updated"):
    """A work's visible fields changed (visibility included)."""

    work_id: str
    author_id: str
    visibility: Visibility
    asset_ids: list[str]
    allow_training: bool = False
    licence: str = Field("LicenseRef-All-Rights-Reserved", description="SPDX identifier or LicenseRef-*")


class WorkDeleted(EventPayload, subject="community.work.deleted"):
    """A work was deleted; its assets are no longer shown through it."""

    work_id: str
    author_id: str
    asset_ids: list[str]


class WorkLiked(EventPayload, subject="community.work.liked"):
    """A user liked a work."""

    work_id: str
    user_id: str
    author_id: str


class WorkUnliked(EventPayload, subject="community.work.unliked"):
    """A user took back a like."""

    work_id: str
    user_id: str
    author_id: str


class WorkCommented(EventPayload, subject="community.work.commented"):
    """A user commented on a work."""

    work_id: str
    comment_id: str
    user_id: str
    author_id: str


class UserFollowed(EventPayload, subject="community.user.followed"):
    """A user started following another."""

    follower_id: str
    followee_id: str


class UserUnfollowed(EventPayload, subject="community.user.unfollowed"):
    """A user stopped following another."""

    follower_id: str
    followee_id: str


# --- assets ----------------------------------------------------------------------------------


class AssetStored(EventPayload, subject="assets.asset.stored"):
    """A file was validated and stored."""

    asset_id: str
    owner_id: str
    sha256: str
    content_type: str
    width: int
    height: int
    size: int
    kind: AssetKind
    # Five dominant colours ("#rrggbb"), most common first; lets subscribers skip a describe call.
    palette: list[str] = Field(default_factory=list)


class AssetDeleted(EventPayload, subject="assets.asset.deleted"):
    """A file and its thumbnail were removed."""

    asset_id: str
    owner_id: str


class AssetNearDuplicate(EventPayload, subject="assets.asset.near_duplicate"):
    """An upload nearly matches (perceptual hash) an asset another artist shows in a public or
    unlisted work: the original's author may want to look (`GET /v1/me/possible-copies`)."""

    asset_id: str = Field(description="The new upload")
    uploader_id: str
    original_asset_id: str
    original_work_id: str = Field(description="A public (else unlisted) work showing the original")
    original_author_id: str
    distance: int = Field(description="Hamming distance of the two 64-bit pHashes (0: the same picture)")
    dhash_distance: int = Field(description="Hamming distance of the two 64-bit dHashes")


# --- trainer ---------------------------------------------------------------------------------


class _ModelEvent(EventPayload):
    model_id: str
    owner_id: str
    version: int


class ModelQueued(_ModelEvent, subject="trainer.model.queued"):
    """A training (or refine) job was accepted and waits for a worker."""

    name: str
    architecture: Architecture
    image_size: int
    total_steps: int


class TrainingProgress(_ModelEvent, subject="trainer.training.progress"):
    """Periodic progress of a running job; `sample_asset_id` is set when a sample grid was stored."""

    step: int
    total_steps: int
    losses: dict[str, float]
    eta_s: float | None = None
    sample_asset_id: str | None = None


class ModelTrained(_ModelEvent, subject="trainer.model.trained"):
    """A new model version is exported to the model repository and can be served."""

    architecture: Architecture
    image_size: int
    steps: int
    metrics: dict[str, Any] = Field(description=(
        "the version's metrics as GET /v1/models/{id} shows them: swd, swd_untrained; with 12 works or more "
        "swd_heldout, swd_heldout_untrained, train_works, heldout_works; precision, recall, recall_heldout; "
        "memorisation_*"))
    repository_path: str
    dataset_sha256: str | None = None
    # Who may generate from it: its owner only, or everyone.
    visibility: Literal["public", "private"] = "private"
    # What the model's generated images say about their own use for AI training (CAWG).
    training_mining: TrainingMining = "notAllowed"


class ModelConsentWithdrawn(_ModelEvent, subject="trainer.model.consent_withdrawn"):
    """Consent for works this version was trained on was withdrawn: it is no longer served."""

    work_ids: list[str] = Field(description="the withdrawn works this version was trained on")
    reason: ConsentReason
    withdrawn_at: datetime


class ModelSettingsChanged(EventPayload, subject="trainer.model.updated"):
    """A model's owner changed who may use it or what its images allow."""

    model_id: str
    owner_id: str
    name: str
    visibility: Literal["public", "private"]
    training_mining: TrainingMining
    licence: str
    commercial_use: bool = False


class TrainingFailed(_ModelEvent, subject="trainer.training.failed"):
    """A job ended with an error."""

    error: str
    step: int | None = None


class TrainingCanceled(_ModelEvent, subject="trainer.training.canceled"):
    """A job stopped because its owner canceled it."""

    step: int | None = None


# --- inference -------------------------------------------------------------------------------


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


# --- webhooks --------------------------------------------------------------------------------


class WebhookEndpointDisabled(EventPayload, subject="webhooks.endpoint.disabled"):
    """A webhook endpoint kept failing until its retry schedule ran out (about a day) and was
    switched off; nothing more is delivered to it until its owner enables it again (PATCH
    /v1/webhooks/{id} {"enabled": true})."""

    endpoint_id: str
    owner_id: str
    url: str
    reason: str
    failed_delivery_id: str | None = None
    disabled_at: datetime


class WebhookEndpointTest(EventPayload, subject="webhooks.endpoint.test"):
    """A test message sent to one endpoint by POST /v1/webhooks/{id}/test (never on a stream)."""

    endpoint_id: str
    owner_id: str
    message: str = "This is a test delivery from Atelier."


# --- market ----------------------------------------------------------------------------------


class LedgerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str = Field(description="user:<id> (spendable), hold:<id> (reserved) or mint (the grants' source)")
    user_id: str | None = None
    amount: int = Field(description="positive: credited; the entries of a transaction sum to zero")


class LedgerTransactionRecorded(EventPayload, subject="market.transaction.recorded"):
    """A balanced ledger transaction was recorded (grant, reserve, settle, release, offer, pay, refund)."""

    transaction_id: str
    key: str = Field(description="the unique business key, e.g. settle:<generation id>")
    kind: str
    reference: str | None = None
    entries: list[LedgerEntry]
    created_at: datetime


class LicenceRequested(EventPayload, subject="market.licence_request.created"):
    """Someone asked a work's author for a licence."""

    request_id: str
    work_id: str
    buyer_id: str
    author_id: str
    scope: str
    offer_credits: int


class LicenceRequestDecided(EventPayload, subject="market.licence_request.decided"):
    """The author accepted or declined a licence request."""

    request_id: str
    work_id: str
    buyer_id: str
    author_id: str
    status: Literal["accepted", "declined"]


class LicenceIssued(EventPayload, subject="market.licence.issued"):
    """A licence certificate was issued on an accepted request."""

    licence_id: str
    request_id: str
    work_id: str
    licensor_id: str
    licensee_id: str
    scope: str
    price: int
    issued_at: datetime


class ModelPriced(EventPayload, subject="market.model.priced"):
    """A model's owner set its price per image and contributors' share."""

    model_id: str
    owner_id: str
    price_per_image: int
    contributors_share: int


# --- jobs (work queue stream JOBS) -----------------------------------------------------------


class TrainJob(EventPayload, subject="jobs.train"):
    """Work for the trainer: the job row holds the full configuration."""

    job_id: str
    model_id: str
    owner_id: str
    version: int


class GenerateJob(EventPayload, subject="jobs.generate"):
    """Work for the inference workers: the generation row holds the parameters."""

    generation_id: str
    owner_id: str
    # Images it asks for: workers fill a batch up to a number of images, not of jobs.
    count: int = Field(1, ge=1)
