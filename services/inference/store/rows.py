"""The typed rows the store answers, and the helpers that build them from asyncpg records."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeAlias, TypeVar

import asyncpg

from shared.contracts.inference import Mode

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool
Row = TypeVar("Row")


@dataclass(frozen=True)
class ModelRow:
    model_id: str
    owner_id: str
    visibility: str  # "private" | "public"
    updated_at: datetime
    training_mining: str = "notAllowed"  # the CAWG `use` its images' manifests declare


@dataclass(frozen=True)
class VersionRow:
    model_id: str
    version: int
    architecture: str
    image_size: int
    repository_path: str
    metrics: dict[str, Any]
    status: str  # "training" | "ready" | "failed" | "withdrawn" (training consent withdrawn: 410)
    error: str | None
    created_at: datetime
    dataset_sha256: str | None = None


@dataclass(frozen=True)
class GenerationRow:
    id: str
    owner_id: str
    model_id: str
    version: int
    mode: Mode
    count: int
    seed: int
    params: dict[str, Any]
    status: str  # "queued" | "running" | "succeeded" | "failed" | "canceled"
    error: str | None
    watermark_id: str | None
    idempotency_key: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class OutputRow:
    generation_id: str
    index: int
    asset_id: str
    seed: int
    image_sha256: str
    signed_sha256: str
    width: int
    height: int
    score: int | None
    rated_at: datetime | None
    created_at: datetime
    originality: dict[str, Any] | None = None


@dataclass(frozen=True)
class RatedOutputRow:
    generation_id: str
    index: int
    asset_id: str
    score: int | None
    seed: int
    version: int
    likes: int


def _columns(row_type: type[Any], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + f.name for f in fields(row_type))


def _one(row_type: type[Row], record: asyncpg.Record | None) -> Row | None:
    return None if record is None else row_type(**dict(record))


def _all(row_type: type[Row], records: list[asyncpg.Record]) -> list[Row]:
    return [row_type(**dict(r)) for r in records]


MODEL_COLUMNS = _columns(ModelRow)
VERSION_COLUMNS = _columns(VersionRow)
GENERATION_COLUMNS = _columns(GenerationRow)
OUTPUT_COLUMNS = _columns(OutputRow)
