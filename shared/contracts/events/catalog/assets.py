"""Events of the assets service: stored and deleted files, possible copies."""

from __future__ import annotations

from pydantic import Field

from shared.contracts.events.catalog.types import (
    AssetKind,
)
from shared.contracts.events.registry import EventPayload


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
