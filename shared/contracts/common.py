"""Building blocks every contract uses: strict request models, ids, pages, listings, idempotency keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from shared.errors import BadRequest, Unprocessable

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX = 200

Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
T = TypeVar("T")


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
    """A request model: unknown fields are a 422, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Reply(BaseModel):
    """A response model. Fields may be added over time; readers ignore what they do not know."""

    model_config = ConfigDict(extra="allow")


class Page(Clean):
    """`?limit=&cursor=`: a limit above the cap is capped, not refused."""

    model_config = ConfigDict(extra="ignore")
    limit: int = Field(DEFAULT_LIMIT, ge=1, description=f"Items per page (capped at {MAX_LIMIT})")
    cursor: str | None = Field(None, max_length=512, description="`next_cursor` of the previous page")

    @field_validator("limit")
    @classmethod
    def _cap(cls, value: int) -> int:
        return min(value, MAX_LIMIT)


class ById(Strict):
    """An operation on one entity named in the path."""

    id: Id = Field(description="The entity's id (a ULID)")


class Listing(Reply, Generic[T]):
    """One page of a list: `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None = None


def check_idempotency_key(key: str) -> str:
    """The one rule for an `Idempotency-Key`, at the edge and in every service: 1 to 200 printable
    characters, else a 400 (a malformed header, like one the gateway refuses before forwarding)."""
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise BadRequest(f"{IDEMPOTENCY_HEADER} must be 1 to {IDEMPOTENCY_KEY_MAX} printable characters")
    return key


def idempotency_key(headers: Mapping[str, str]) -> str | None:
    """The caller's `Idempotency-Key` as a service receives it: absent or blank is none."""
    key = (headers.get(IDEMPOTENCY_HEADER) or "").strip()
    return check_idempotency_key(key) if key else None


def patch_fields(patch: BaseModel, *, exclude: tuple[str, ...] = ("id",)) -> dict[str, Any]:
    """The fields a PATCH sets; a field may be left out but not set to null."""
    fields = patch.model_dump(exclude_unset=True, exclude=set(exclude))
    nulls = [name for name, value in fields.items() if value is None]
    if nulls:
        raise Unprocessable("fields may be omitted but not null",
                            errors=[{"field": name, "message": "must not be null", "type": "null"} for name in nulls])
    return fields
