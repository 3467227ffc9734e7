"""Events of the community service: accounts, works, likes, comments, follows."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.contracts.events.catalog.types import (
    Origin,
    Visibility,
)
from shared.contracts.events.registry import EventPayload


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


class SuggestionCreated(EventPayload, subject="community.suggestion.created"):
    """A suggestion of weight appeared for a user (`GET /v1/me/suggestions`): announced once per
    suggestion (kind, subject_type, subject), when its confidence first clears the announce threshold."""

    user_id: str = Field(description="The user the suggestion is for (the only one who sees this event)")
    kind: Literal["resonates", "follow"] = Field(description="What the suggestion is about")
    subject_type: str = Field(description="`tag` or `origin` (resonates), `artist` (follow)")
    about: str = Field(description="The tag, origin or username suggested (`subject` in `GET /v1/me/suggestions`)")
    title: str = Field(description="A one-line title, as in `GET /v1/me/suggestions`")
    confidence: float = Field(ge=0, le=1, description="How sure the suggestion is, as in `GET /v1/me/suggestions`")
