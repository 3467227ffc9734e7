"""Events community publishes, written to the outbox inside the transaction that caused them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.community.store.rows import CommentRow, LockedWork, UserRow, WorkRow
from shared.contracts.events.catalog import (
    SuggestionCreated,
    UserCreated,
    UserCredentialsChanged,
    UserDeleted,
    UserFollowed,
    UserTrainingConsentChanged,
    UserUnfollowed,
    WorkCommented,
    WorkDeleted,
    WorkLiked,
    WorkPublished,
    WorkUnliked,
    WorkUpdated,
)
from shared.contracts.events.registry import EventPayload
from shared.messaging.publisher import event_in_context
from shared.outbox import enqueue

SERVICE = "community"
SCHEMA = "community"


async def emit(conn: asyncpg.Connection, payload: EventPayload, subject_id: str) -> None:
    await enqueue(conn, SCHEMA, event_in_context(payload, service=SERVICE, subject_id=subject_id))


async def user_created(conn: asyncpg.Connection, user: UserRow) -> None:
    await emit(conn, UserCreated(user_id=user.id, username=user.username), user.id)


async def user_deleted(conn: asyncpg.Connection, user: UserRow, deleted_at: datetime) -> None:
    await emit(conn, UserDeleted(user_id=user.id, username=user.username, deleted_at=deleted_at), user.id)


async def credentials_changed(conn: asyncpg.Connection, user_id: str, not_before: datetime) -> None:
    await emit(conn, UserCredentialsChanged(user_id=user_id, not_before=not_before), user_id)


async def work_published(conn: asyncpg.Connection, work: WorkRow) -> None:
    visibility = work.visibility
    if visibility == "private":
        raise ValueError(f"work {work.id} is private: it is not published")
    await emit(conn, WorkPublished(
        work_id=work.id, author_id=work.author_id, title=work.title, origin=work.origin,
        tags=list(work.tags), asset_ids=list(work.asset_ids), visibility=visibility,
        allow_training=work.allow_training, model_id=work.model_id, model_version=work.model_version,
        model_owner_id=work.model_owner_id, published_at=work.published_at, licence=work.licence,
    ), work.id)


async def work_updated(conn: asyncpg.Connection, work: WorkRow) -> None:
    await emit(conn, WorkUpdated(
        work_id=work.id, author_id=work.author_id, visibility=work.visibility,
        asset_ids=list(work.asset_ids), allow_training=work.allow_training, licence=work.licence,
    ), work.id)


async def work_deleted(conn: asyncpg.Connection, work: WorkRow | LockedWork) -> None:
    await emit(conn, WorkDeleted(work_id=work.id, author_id=work.author_id,
                                 asset_ids=list(work.asset_ids)), work.id)


async def work_liked(conn: asyncpg.Connection, work_id: str, user_id: str, author_id: str) -> None:
    await emit(conn, WorkLiked(work_id=work_id, user_id=user_id, author_id=author_id), work_id)


async def work_unliked(conn: asyncpg.Connection, work_id: str, user_id: str, author_id: str) -> None:
    await emit(conn, WorkUnliked(work_id=work_id, user_id=user_id, author_id=author_id), work_id)


async def work_commented(conn: asyncpg.Connection, comment: CommentRow, author_id: str) -> None:
    await emit(conn, WorkCommented(work_id=comment.work_id, comment_id=comment.id,
                                   user_id=comment.author_id, author_id=author_id), comment.work_id)


async def user_followed(conn: asyncpg.Connection, follower_id: str, followee_id: str) -> None:
    await emit(conn, UserFollowed(follower_id=follower_id, followee_id=followee_id), followee_id)


async def user_unfollowed(conn: asyncpg.Connection, follower_id: str, followee_id: str) -> None:
    await emit(conn, UserUnfollowed(follower_id=follower_id, followee_id=followee_id), followee_id)


async def training_consent_changed(conn: asyncpg.Connection, user_id: str, allow_training: bool) -> None:
    await emit(conn, UserTrainingConsentChanged(user_id=user_id, allow_training=allow_training), user_id)


async def suggestion_created(conn: asyncpg.Connection, user_id: str, item: dict[str, Any]) -> None:
    await emit(conn, SuggestionCreated(
        user_id=user_id, kind=item["kind"], subject_type=item["subject_type"], about=item["subject"],
        title=item["title"], confidence=item["confidence"],
    ), user_id)
