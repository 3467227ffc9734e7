"""How records are shown: the JSON shapes of users, works, comments and collections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.community.store.rows import CollectionRow, CommentRow, ProfileRow, UserRow, WorkRow


def rfc3339(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def user_public(row: UserRow) -> dict[str, Any]:
    return {
        "id": row.id, "username": row.username, "display_name": row.display_name or row.username,
        "bio": row.bio, "created_at": rfc3339(row.created_at),
    }


def user_private(row: UserRow) -> dict[str, Any]:
    """What the user sees about themself."""
    return {**user_public(row), "email": row.email, "allow_training": row.allow_training}


def profile(row: ProfileRow, *, own: bool) -> dict[str, Any]:
    base = user_private(row) if own else {**user_public(row), "allow_training": row.allow_training}
    base["counts"] = {"followers": row.followers, "following": row.following, "works": row.works,
                      "likes_received": int(row.likes_received)}
    base["followed_by_me"] = row.followed_by_me
    return base


def work(row: WorkRow) -> dict[str, Any]:
    model = None
    if row.model_id is not None:
        model = {"id": row.model_id, "version": row.model_version, "owner_id": row.model_owner_id}
    return {
        "id": row.id,
        "author": {"id": row.author_id, "username": row.author_username,
                   "display_name": row.author_display_name or row.author_username},
        "title": row.title, "description": row.description, "tags": list(row.tags),
        "asset_ids": list(row.asset_ids), "visibility": row.visibility, "origin": row.origin,
        "allow_training": row.allow_training, "similarity_acknowledged": row.similarity_acknowledged,
        "model": model, "generation_id": row.generation_id,
        "licence": row.licence, "licence_terms": row.licence_terms,
        "like_count": row.like_count, "comment_count": row.comment_count,
        "liked_by_me": row.liked_by_me, "hidden": row.hidden,
        "created_at": rfc3339(row.created_at), "updated_at": rfc3339(row.updated_at),
        "published_at": rfc3339(row.published_at),
    }


def comment(row: CommentRow) -> dict[str, Any]:
    return {"id": row.id, "work_id": row.work_id,
            "author": {"id": row.author_id, "username": row.author_username},
            "body": row.body, "created_at": rfc3339(row.created_at)}


def collection(row: CollectionRow, works: list[WorkRow] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": row.id, "owner": {"id": row.owner_id, "username": row.owner_username},
        "title": row.title, "description": row.description, "visibility": row.visibility,
        "training_set": row.training_set, "work_count": row.work_count,
        "created_at": rfc3339(row.created_at), "updated_at": rfc3339(row.updated_at),
    }
    if works is not None:
        doc["works"] = [work(w) for w in works]
    return doc
