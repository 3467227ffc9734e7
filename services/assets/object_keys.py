"""Where the assets service keeps its objects in the bucket (the client is `shared.objectstore`)."""

from __future__ import annotations


def original_key(owner_id: str, asset_id: str) -> str:
    return f"originals/{owner_id}/{asset_id}"


def thumbnail_key(owner_id: str, asset_id: str) -> str:
    return f"thumbnails/{owner_id}/{asset_id}.webp"


def staging_key(owner_id: str, asset_id: str) -> str:
    """Where a not yet validated upload lands; the owner is part of the key, so `complete` needs
    no database row to know whose upload it is."""
    return f"staging/{owner_id}/{asset_id}"
