"""The community service's contract: accounts, works, feeds, collections, moderation, insights.

Request models are what the gateway validates public input with (the service validates again: it
is the authority, and internal callers — trainer, inference, assets, the live feed — skip the
gateway). Response models are the shapes the service answers with and the OpenAPI 2xx schemas.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import Field, StringConstraints, field_validator, model_validator

from shared.contracts.common import Clean, Id, Listing, Page, Reply, Strict
from shared.contracts.licences import ALL_RIGHTS_RESERVED, CUSTOM, LicenceTerms, SpdxLicence
from shared.contracts.operation import Operation, operation

SERVICE = "community"
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 256  # a bound on the hashing work one request can cause
USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{3,32}$")
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
MAX_TAGS = 20
TRAINING_SET_MAX_WORKS = 1000

Origin = Literal["human", "ai", "collab"]
Visibility = Literal["public", "unlisted", "private"]
CollectionVisibility = Literal["public", "private"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
ReportReason = Literal["spam", "abuse", "copyright", "nsfw", "other"]


def _username(value: str) -> str:
    if not USERNAME_RE.fullmatch(value):
        raise ValueError("3 to 32 characters: letters, digits and underscores")
    return value.lower()


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


# --- requests --------------------------------------------------------------------------------------


class CommunityNoInput(Clean):
    """An operation that takes nothing but its caller (anything sent is ignored)."""


class SignupBody(Strict):
    username: str = Field(description="3 to 32 letters, digits or underscores; case-insensitive")
    email: str = Field(max_length=254)
    password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)

    _check_username = field_validator("username")(_username)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(str(exc)) from None


class LoginBody(Strict):
    login: str = Field(min_length=1, max_length=254, description="Username or email")
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)


class AccountDeleteBody(Strict):
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH,
                          description="Your current password: deleting an account cannot be undone")


class PasswordChangeBody(Strict):
    current: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH, description="Your current password")
    new: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH,
                     description=f"The new password ({PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters)")


ExportSection = Literal["works", "comments", "likes", "collections", "following"]


class ExportQuery(Strict):
    """One page of one section of your data (internal: the gateway builds `GET /v1/me/export` from it)."""

    section: ExportSection = Field(description="Which of your data")
    after: str | None = Field(None, max_length=64, description="`next_after` of the previous page")
    limit: int = Field(200, ge=1, le=500, description="Items per page")


class ProfilePatch(Strict):
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    bio: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None
    allow_training: bool | None = Field(None, description="Consent to style models being trained on your works")


class UserByName(Strict):
    username: str = Field(min_length=1, max_length=64, description="The user's username (case-insensitive)")


class UserById(Strict):
    user_id: Id = Field(description="The user's id")


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


class CollectionCreate(Strict):
    title: Title
    description: Description = ""
    work_ids: list[Id] = Field(default_factory=list, max_length=500, description="Member works, in order")
    visibility: CollectionVisibility = "public"
    training_set: bool = False


class CollectionPatch(Strict):
    title: Title | None = None
    description: Description | None = None
    work_ids: list[Id] | None = Field(None, max_length=500)
    visibility: CollectionVisibility | None = None
    training_set: bool | None = None


class CollectionRef(Strict):
    id: Id = Field(description="The collection's id")


class CollectionUpdate(CollectionPatch):
    id: Id = Field(description="The collection's id")


class CollectionsQuery(Page):
    owner: str | None = Field(None, max_length=32, description="List this username's public collections")


# --- responses -------------------------------------------------------------------------------------


class UserPublic(Reply):
    id: str
    username: str
    display_name: str = Field(description="The display name, or the username when none is set")
    bio: str | None
    created_at: datetime


class UserPrivate(UserPublic):
    """What a user sees about themself."""

    email: str
    allow_training: bool


class ProfileCounts(Reply):
    followers: int
    following: int
    works: int = Field(description="Works the viewer may see")
    likes_received: int


class Profile(UserPublic):
    email: str | None = Field(None, description="Only on your own profile")
    allow_training: bool
    counts: ProfileCounts
    followed_by_me: bool


class Session(Reply):
    user: UserPrivate
    token: str = Field(description="An Ed25519-signed JWT access token")
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds until the token expires")


class ExportPage(Reply):
    items: list[dict[str, Any]] = Field(description="Items of the section, oldest first")
    next_after: str | None = Field(description="Pass as `after` for the next page; null on the last page")


class Followees(Reply):
    user_ids: list[str] = Field(description="Ids of the users the caller follows")


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


class CollectionOwner(Reply):
    id: str
    username: str


class Collection(Reply):
    id: str
    owner: CollectionOwner
    title: str
    description: str
    visibility: CollectionVisibility
    training_set: bool
    work_count: int
    created_at: datetime
    updated_at: datetime


class CollectionDetail(Collection):
    works: list[Work] = Field(description="Members in order, leaving out works the viewer may not see")


class CollectionListing(Listing[Collection]):
    """A page of collections, newest first."""


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


SuggestionKind = Literal["resonates", "follow"]


class SuggestionsQuery(Strict):
    """`GET /v1/me/suggestions`: any other query parameter is a 422."""

    kind: SuggestionKind | None = Field(None, description="Only suggestions of this kind: `resonates` (tags and "
                                                          "origins that earn you clearly more likes) or `follow` "
                                                          "(artists whose audience overlaps yours)")


class Suggestion(Reply):
    kind: SuggestionKind
    subject_type: Literal["tag", "origin", "artist"] = Field(description="What the suggestion is about")
    subject: str = Field(description="The tag, the origin or the artist's username")
    title: str = Field(description="The suggestion in a few words")
    explanation: str = Field(description="Why, in plain words")
    evidence: dict[str, float] = Field(description="The numbers behind it (counts, rates, probabilities)")
    confidence: float = Field(ge=0, le=1, description="How sure the model is (a posterior probability)")


class Suggestions(Reply):
    items: list[Suggestion] = Field(description="`resonates` (most confident first), then `follow` (most similar "
                                                 "first); empty when the data says nothing clearly")
    method: str = Field(description="How the suggestions were derived, and what exposure was assumed")


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


# --- operations ------------------------------------------------------------------------------------

AUTH_SIGNUP = operation(SERVICE, "auth.signup", SignupBody, Session, actor="none", problems=(409,),
                        summary="Create an account; returns the user and a token")
AUTH_LOGIN = operation(SERVICE, "auth.login", LoginBody, Session, actor="none", problems=(401, 429),
                       summary="Exchange a username or email and password for a token")
USERS_ME = operation(SERVICE, "users.me", CommunityNoInput, Profile, summary="Your own profile")
USERS_UPDATE_ME = operation(SERVICE, "users.update_me", ProfilePatch, Profile,
                            summary="Change display name, bio or training consent")
USERS_PROFILE = operation(SERVICE, "users.profile", UserByName, Profile, actor="optional", problems=(404,),
                          summary="A user's profile with counts")
USERS_GET = operation(SERVICE, "users.get", UserById, Profile, actor="none", problems=(404,),
                      summary="A user's public profile by id (internal)")
USERS_FOLLOWEES = operation(SERVICE, "users.followees", CommunityNoInput, Followees,
                            summary="Whom the caller follows (internal: the live feed filters on it)")
USERS_FOLLOW: Operation[UserByName, Any] = operation(SERVICE, "users.follow", UserByName, None, problems=(404,),
                         summary="Follow a user (idempotent)")
USERS_UNFOLLOW: Operation[UserByName, Any] = operation(SERVICE, "users.unfollow", UserByName, None, problems=(404,),
                           summary="Stop following (idempotent)")

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
FEEDS_FOR_YOU = operation(SERVICE, "feeds.for_you", Page, WorkListing, actor="optional", problems=(400,),
                          summary="Recommended from the tags and artists you like")

COLLECTIONS_CREATE = operation(SERVICE, "collections.create", CollectionCreate, CollectionDetail,
                               summary="Create an ordered collection of works")
COLLECTIONS_LIST = operation(SERVICE, "collections.list", CollectionsQuery, CollectionListing, actor="optional",
                             problems=(400, 404),
                             summary="Your collections, or ?owner=username's public ones")
COLLECTIONS_GET = operation(SERVICE, "collections.get", CollectionRef, CollectionDetail, actor="optional",
                            problems=(404,), summary="A collection with its works")
COLLECTIONS_UPDATE = operation(SERVICE, "collections.update", CollectionUpdate, CollectionDetail,
                               problems=(403, 404), summary="Edit your collection")
COLLECTIONS_DELETE: Operation[CollectionRef, Any] = operation(SERVICE, "collections.delete", CollectionRef, None,
                                                              problems=(403, 404), summary="Delete your collection")

INSIGHTS_GET = operation(SERVICE, "insights.get", CommunityNoInput, Insights,
                         summary="Likes and comments over time, by tag and origin, and palettes of your most "
                                 "liked works")

SUGGESTIONS_GET = operation(SERVICE, "suggestions.get", SuggestionsQuery, Suggestions,
                            summary="Explained suggestions: what resonates with your audience (only when "
                                    "credible) and artists whose audiences overlap yours")

# Accounts that end, passwords that change (issue 19). The client address is the gateway's view of
# the caller (`ATELIER_FORWARDED_HOPS`); only the gateway may call these (NATS permissions), so
# community trusts it for its login throttle.
CLIENT_ADDRESS_HEADER = "Atelier-Client-Address"
USERS_DELETE_ME: Operation[AccountDeleteBody, Any] = operation(
    SERVICE, "users.delete_me", AccountDeleteBody, None, problems=(403, 429),
    summary="Delete your account (password required): your works, assets, collections, likes, comments and "
            "follows are removed, training consent is withdrawn and every token of yours stops working")
USERS_CHANGE_PASSWORD = operation(
    SERVICE, "users.change_password", PasswordChangeBody, Session, problems=(403, 429),
    summary="Change your password; every earlier token stops working, the answer carries a new one")
USERS_EXPORT = operation(SERVICE, "users.export", ExportQuery, ExportPage,
                         summary="One page of your data for the export archive (internal: the gateway)")
