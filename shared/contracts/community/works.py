"""Works: publishing, search, likes, comments, reports and moderation, the feeds, and which works a
style model may train on."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator, model_validator

from shared.contracts.common import Clean, Id, Listing, Page, Reply, Strict
from shared.contracts.community.base import SERVICE, Description, Origin, Title, Visibility
from shared.contracts.licences import ALL_RIGHTS_RESERVED, CUSTOM, LicenceTerms, SpdxLicence
from shared.contracts.operation import Operation, operation

TAG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
MAX_TAGS = 20
TRAINING_SET_MAX_WORKS = 1000

FeedSource = Literal["tags", "artists", "co_likes", "trending", "fresh"]
ReportReason = Literal["spam", "abuse", "copyright", "nsfw", "other"]


def _tags(value: list[str]) -> list[str]:
    seen: list[str] = []
    for raw in value:
        tag = raw.strip().lower().lstrip("#")
        if not TAG_RE.fullmatch(tag):
            raise ValueError(f"tag {raw!r}: 1 to 32 of a-z, 0-9, '_' or '-'")
        if tag not in seen:
            seen.append(tag)
    if len(seen) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return seen


class WorkCreate(Strict):
    title: Title
    description: Description = ""
    tags: list[str] = Field(default_factory=list, max_length=50)
    asset_ids: list[Id] = Field(min_length=1, max_length=20, description="Your assets, in display order")
    visibility: Visibility = "public"
    origin: Origin = "human"
    allow_training: bool = False
    acknowledge_similarity: bool = Field(
        False, description="Publish as `human` although an asset nearly matches another artist's work "
                           "(without it such a work is a 409 naming the original); recorded on the work")
    licence: SpdxLicence = Field(ALL_RIGHTS_RESERVED, description="an SPDX identifier from the allow-list, "
                                 f"{ALL_RIGHTS_RESERVED} (default) or {CUSTOM} with licence_terms")
    licence_terms: LicenceTerms = Field("", description=f"your own terms (required with {CUSTOM})")

    _check_tags = field_validator("tags")(_tags)

    @model_validator(mode="after")
    def _custom_has_terms(self) -> WorkCreate:
        if self.licence == CUSTOM and not self.licence_terms.strip():
            raise ValueError(f"licence {CUSTOM} needs licence_terms")
        return self

    @field_validator("asset_ids")
    @classmethod
    def _distinct_assets(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("an asset may appear only once")
        return value


class AiWorkCreate(WorkCreate):
    """`works.create` from inference: an AI work (origin "ai") credits the model and its owner."""

    model_id: Id | None = None
    model_version: int | None = Field(None, ge=0)
    model_owner_id: Id | None = None
    generation_id: Id | None = None


class WorkPatch(Strict):
    title: Title | None = None
    description: Description | None = None
    tags: list[str] | None = Field(None, max_length=50)
    asset_ids: list[Id] | None = Field(None, min_length=1, max_length=20)
    visibility: Visibility | None = None
    allow_training: bool | None = None
    acknowledge_similarity: bool | None = Field(
        None, description="With new `asset_ids` of a `human` work: accept that one nearly matches another "
                           "artist's work (see WorkCreate)")
    licence: SpdxLicence | None = Field(None, description=f"an SPDX identifier from the allow-list, "
                                        f"{ALL_RIGHTS_RESERVED} or {CUSTOM} (with licence_terms)")
    licence_terms: LicenceTerms | None = None

    _check_tags = field_validator("tags")(lambda v: None if v is None else _tags(v))

    @model_validator(mode="after")
    def _custom_has_terms(self) -> WorkPatch:
        if self.licence == CUSTOM and not (self.licence_terms or "").strip():
            raise ValueError(f"licence {CUSTOM} needs licence_terms")
        return self


class WorkRef(Strict):
    id: Id = Field(description="The work's id")


class WorkUpdate(WorkPatch):
    id: Id = Field(description="The work's id")


class CommentBody(Strict):
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class CommentCreate(CommentBody):
    id: Id = Field(description="The work's id")


class CommentsQuery(Page):
    id: Id = Field(description="The work's id")


class ReportBody(Strict):
    reason: ReportReason = "other"
    details: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""


class ReportCreate(ReportBody):
    id: Id = Field(description="The work's id")


class ModerationDecision(Strict):
    """`restore` shows a reported work again and closes its reports; `remove` deletes the work."""

    decision: Literal["restore", "remove"]
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""


class ModerationDecide(ModerationDecision):
    id: Id = Field(description="The reported work's id")


class WorksQuery(Page):
    author: str | None = Field(None, max_length=32, description="Only works of this username")
    tag: str | None = Field(None, max_length=32, description="Only works with this tag")
    q: str | None = Field(None, max_length=200, description="Full-text search over title, tags and description")
    origin: Origin | None = Field(None, description="Only works of this origin")
    sort: Literal["new", "top"] = Field("new", description="`new`: newest first; `top`: most liked first")

    @field_validator("author", "tag")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.strip().lower() if value else None


class WorkTrainingSetQuery(Clean):
    """Exactly one of `work_ids` and `collection_id`."""

    work_ids: list[str] | None = Field(None, max_length=TRAINING_SET_MAX_WORKS)
    collection_id: str | None = None


class AssetUsageQuery(Clean):
    asset_id: Id = Field(description="The asset's id")


class WorkAuthor(Reply):
    id: str
    username: str
    display_name: str


class WorkModel(Reply):
    id: str
    version: int | None
    owner_id: str | None


class Work(Reply):
    id: str
    author: WorkAuthor
    title: str
    description: str
    tags: list[str]
    asset_ids: list[str]
    visibility: Visibility
    origin: Origin
    allow_training: bool
    similarity_acknowledged: bool = Field(False, description="Its author published it as human work knowing "
                                                              "that an asset nearly matches another artist's work")
    model: WorkModel | None = Field(description="The style model an AI work was made with")
    licence: str = Field(ALL_RIGHTS_RESERVED, description="SPDX identifier (or LicenseRef-*) of the work's licence")
    licence_terms: str = Field("", description="the author's own terms, if any")
    generation_id: str | None
    like_count: int
    comment_count: int
    liked_by_me: bool
    hidden: bool = Field(description="Hidden from feeds pending review of reports")
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    source: FeedSource | None = Field(
        None, description="For-you feed only: the candidate source this work was served from (works with "
                          "tags you liked, by artists you follow or liked, liked by people who like what you "
                          "like, trending, fresh); the feed learns from your likes which sources to favour")


class WorkListing(Listing[Work]):
    """A page of works."""


class CommentAuthor(Reply):
    id: str
    username: str


class Comment(Reply):
    id: str
    work_id: str
    author: CommentAuthor
    body: str
    created_at: datetime


class CommentListing(Listing[Comment]):
    """A page of comments, oldest first."""


class ReportReceipt(Reply):
    work_id: str
    status: Literal["received"]


class ModerationReport(Reply):
    reporter: str = Field(description="The reporter's username")
    reason: ReportReason
    details: str
    created_at: datetime


class ModerationQueueItem(Reply):
    work: Work
    open_reports: int
    reports: list[ModerationReport]


class ModerationQueue(Listing[ModerationQueueItem]):
    """A page of reported works, hidden first."""


class ModerationOutcome(Reply):
    work_id: str
    decision: Literal["restore", "remove"]
    closed_reports: int | None = Field(None, description="Reports closed by a `restore`")


class TrainingWork(Reply):
    id: str
    author_id: str
    asset_ids: list[str]
    allow_training: bool


class WorkTrainingSet(Reply):
    works: list[TrainingWork] = Field(description="The works the requester may train on")
    refused: list[str] = Field(description="Ids of the works that may not be used")
    reasons: dict[str, Literal["not_found", "no_consent"]] = Field(description="Why each refused work is refused")


class WorksUsingAsset(Reply):
    work_ids: list[str]


WORKS_CREATE = operation(SERVICE, "works.create", AiWorkCreate, Work, problems=(409, 503),
                         summary="Publish a work made of your assets")
WORKS_LIST = operation(SERVICE, "works.list", WorksQuery, WorkListing, actor="optional", problems=(400,),
                       summary="Search and list works (full text, tag, author, origin)")
WORKS_GET = operation(SERVICE, "works.get", WorkRef, Work, actor="optional", problems=(404,),
                      summary="A work (someone else's private work is a 404)")
WORKS_UPDATE = operation(SERVICE, "works.update", WorkUpdate, Work, problems=(403, 404, 409, 503),
                         summary="Edit your work")
WORKS_DELETE: Operation[WorkRef, Any] = operation(SERVICE, "works.delete", WorkRef, None, problems=(403, 404),
                                                   summary="Delete your work")
WORKS_LIKE: Operation[WorkRef, Any] = operation(SERVICE, "works.like", WorkRef, None, problems=(404,),
                                                summary="Like a work (idempotent)")
WORKS_UNLIKE: Operation[WorkRef, Any] = operation(SERVICE, "works.unlike", WorkRef, None, problems=(404,),
                         summary="Remove your like (idempotent)")
WORKS_COMMENT = operation(SERVICE, "works.comment", CommentCreate, Comment, problems=(404,),
                          summary="Comment on a work (plain text)")
WORKS_COMMENTS = operation(SERVICE, "works.comments", CommentsQuery, CommentListing, actor="optional",
                           problems=(400, 404), summary="Comments, oldest first")
WORKS_REPORT = operation(SERVICE, "works.report", ReportCreate, ReportReceipt, problems=(404,),
                         summary="Report a work; enough distinct reports hide it from feeds pending review")
WORKS_TRAINING_SET = operation(SERVICE, "works.training_set", WorkTrainingSetQuery, WorkTrainingSet,
                               problems=(404,),
                               summary="Which works the caller may train a style model on (internal: trainer)")
WORKS_USING_ASSET = operation(SERVICE, "works.using_asset", AssetUsageQuery, WorksUsingAsset, actor="none",
                              summary="Every work that lists an asset, any visibility (internal: assets)")

MODERATION_QUEUE = operation(SERVICE, "moderation.queue", Page, ModerationQueue, problems=(400, 403),
                             summary="Moderators: works with open reports, hidden first, with the reports")
MODERATION_DECIDE = operation(SERVICE, "moderation.decide", ModerationDecide, ModerationOutcome,
                              problems=(403, 404),
                              summary="Moderators: restore a reported work (closing its reports) or remove it")

FEEDS_FOLLOWING = operation(SERVICE, "feeds.following", Page, WorkListing, problems=(400,),
                            summary="Newest works of the artists you follow")
FEEDS_TRENDING = operation(SERVICE, "feeds.trending", Page, WorkListing, actor="optional", problems=(400,),
                           summary="Works ranked by engagement with time decay")
class ForYouQuery(Page):
    """`?limit=&cursor=` of the for-you feed; any other parameter is a 422."""

    model_config = ConfigDict(extra="forbid")


FEEDS_FOR_YOU = operation(SERVICE, "feeds.for_you", ForYouQuery, WorkListing, actor="optional", problems=(400,),
                          summary="Recommended for you: a mix of candidate sources that learns from your likes")
