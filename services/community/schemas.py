"""Request bodies and queries of the community API. The gateway validates with these too; the
service validates again because it is the authority (internal callers skip the gateway)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from services.community.passwords import MAX_LENGTH, MIN_LENGTH
from shared.errors import Unprocessable

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{3,32}$")
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
MAX_TAGS = 20
MAX_LIMIT = 100
DEFAULT_LIMIT = 20

Origin = Literal["human", "ai", "collab"]
Visibility = Literal["public", "unlisted", "private"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Clean(BaseModel):
    """Refuses NUL characters anywhere: PostgreSQL text cannot hold them (it would be a 500)."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("text must not contain NUL characters")
        return data


class Strict(Clean):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


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


class SignupBody(Strict):
    username: str
    email: str = Field(max_length=254)
    password: str = Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH)

    _check_username = field_validator("username")(_username)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(str(exc)) from None


class LoginBody(Strict):
    login: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)


class ProfilePatch(Strict):
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    bio: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None
    allow_training: bool | None = None


class WorkCreate(Strict):
    title: Title
    description: Description = ""
    tags: list[str] = Field(default_factory=list, max_length=50)
    asset_ids: list[Id] = Field(min_length=1, max_length=20)
    visibility: Visibility = "public"
    origin: Origin = "human"
    allow_training: bool = False

    _check_tags = field_validator("tags")(_tags)

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

    _check_tags = field_validator("tags")(lambda v: None if v is None else _tags(v))


class CommentBody(Strict):
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ReportBody(Strict):
    reason: Literal["spam", "abuse", "copyright", "nsfw", "other"] = "other"
    details: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""


class ModerationDecision(Strict):
    """`restore` shows a reported work again and closes its reports; `remove` deletes the work."""

    decision: Literal["restore", "remove"]
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""


class CollectionCreate(Strict):
    title: Title
    description: Description = ""
    work_ids: list[Id] = Field(default_factory=list, max_length=500)
    visibility: Literal["public", "private"] = "public"
    training_set: bool = False


class CollectionPatch(Strict):
    title: Title | None = None
    description: Description | None = None
    work_ids: list[Id] | None = Field(None, max_length=500)
    visibility: Literal["public", "private"] | None = None
    training_set: bool | None = None


class Page(Clean):
    """`?limit=&cursor=`: limit above the cap is capped, not refused."""

    model_config = ConfigDict(extra="ignore")
    limit: int = Field(DEFAULT_LIMIT, ge=1)
    cursor: str | None = Field(None, max_length=512)

    @field_validator("limit")
    @classmethod
    def _cap(cls, value: int) -> int:
        return min(value, MAX_LIMIT)


class WorksQuery(Page):
    author: str | None = Field(None, max_length=32)
    tag: str | None = Field(None, max_length=32)
    q: str | None = Field(None, max_length=200)
    origin: Origin | None = None
    sort: Literal["new", "top"] = "new"

    @field_validator("author", "tag")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.strip().lower() if value else None


class CollectionsQuery(Page):
    owner: str | None = Field(None, max_length=32)


def patch_fields(patch: BaseModel) -> dict[str, Any]:
    """The fields a PATCH sets; a field may be left out but not set to null."""
    fields = patch.model_dump(exclude_unset=True)
    nulls = [name for name, value in fields.items() if value is None]
    if nulls:
        raise Unprocessable("fields may be omitted but not null",
                            errors=[{"field": name, "message": "must not be null", "type": "null"} for name in nulls])
    return fields
