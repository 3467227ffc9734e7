"""Typed rows: what the store's queries return (one dataclass per result shape, never an asyncpg.Record)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from functools import cache
from typing import Any, TypeAlias, TypeVar, cast

import asyncpg

from shared.contracts.community import Origin, Visibility

Conn: TypeAlias = "asyncpg.Connection | asyncpg.Pool"
R = TypeVar("R")
_ABSENT = object()  # a column this query does not select: the row's default applies


@cache
def _columns(cls: Callable[..., Any]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cast(Any, cls)))


def _build(cls: Callable[..., R], record: Mapping[str, Any]) -> R:
    values = {name: record.get(name, _ABSENT) for name in _columns(cls)}
    return cls(**{name: value for name, value in values.items() if value is not _ABSENT})


def one(cls: Callable[..., R], record: Mapping[str, Any] | None) -> R | None:
    """The record as a `cls` row, from the columns `cls` declares (None stays None)."""
    return None if record is None else _build(cls, record)


def required(cls: Callable[..., R], record: Mapping[str, Any] | None) -> R:
    """The record of a statement that always returns one (`INSERT ... RETURNING`) as a `cls` row."""
    if record is None:
        raise LookupError(f"expected a {getattr(cls, '__name__', cls)} row, got none")
    return _build(cls, record)


def many(cls: Callable[..., R], records: Iterable[Mapping[str, Any]]) -> list[R]:
    return [_build(cls, record) for record in records]


@dataclass(frozen=True, slots=True)
class UserRow:
    id: str
    username: str
    email: str
    display_name: str | None
    bio: str | None
    allow_training: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CredentialsRow(UserRow):
    password_hash: str


@dataclass(frozen=True, slots=True)
class ProfileRow(UserRow):
    followers: int
    following: int
    works: int
    likes_received: int
    followed_by_me: bool


@dataclass(frozen=True, slots=True)
class WorkRow:
    """A work as it is shown (`work_select`); feeds and the moderation queue add one ranking column."""

    id: str
    author_id: str
    author_username: str
    author_display_name: str | None
    title: str
    description: str
    tags: list[str]
    asset_ids: list[str]
    visibility: Visibility
    origin: Origin
    allow_training: bool
    model_id: str | None
    model_version: int | None
    model_owner_id: str | None
    generation_id: str | None
    like_count: int
    comment_count: int
    hidden: bool
    score: float
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    liked_by_me: bool
    similarity_acknowledged: bool = False  # published as human knowing it nearly matches another's work
    licence: str = "LicenseRef-All-Rights-Reserved"
    licence_terms: str = ""
    rank: float | None = None  # for-you feed
    report_count: int | None = None  # moderation queue


@dataclass(frozen=True, slots=True)
class LockedWork:
    """A work locked for a change (`FOR UPDATE`)."""

    id: str
    author_id: str
    visibility: str
    asset_ids: list[str]
    published_at: datetime | None


@dataclass(frozen=True, slots=True)
class TrainingCandidate:
    id: str
    author_id: str
    asset_ids: list[str]
    visibility: str
    allow_training: bool


@dataclass(frozen=True, slots=True)
class LikedWork:
    author_id: str
    tags: list[str]


@dataclass(frozen=True, slots=True)
class CommentRow:
    id: str
    work_id: str
    author_id: str
    author_username: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OpenReport:
    work_id: str
    reporter_username: str
    reason: str
    details: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CollectionRow:
    id: str
    owner_id: str
    owner_username: str
    title: str
    description: str
    visibility: str
    training_set: bool
    created_at: datetime
    updated_at: datetime
    work_count: int


@dataclass(frozen=True, slots=True)
class LockedCollection:
    id: str
    owner_id: str


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    count: int


@dataclass(frozen=True, slots=True)
class TagEngagementRow:
    tag: str
    works: int
    likes: int | None
    comments: int | None


@dataclass(frozen=True, slots=True)
class OriginEngagementRow:
    origin: str
    works: int
    likes: int | None
    comments: int | None


@dataclass(frozen=True, slots=True)
class TopWorkRow:
    id: str
    title: str
    like_count: int
    asset_ids: list[str]
