"""Who may see which event: the one rule the WebSocket hub (services/gateway/live) and webhook
delivery (services/webhooks) both apply, decided once per event (`describe`) and per reader.

- An event of a user's own things — their style models (trainer.*), generations (inference.*),
  files (assets.*) and webhook endpoints (webhooks.*) — is seen by its `owner_id` only.
- `community.work.published` is seen by its author, and by everyone when the work is public
  (never when unlisted).
- `community.work.liked` / `.commented` notify the work's author (not when they liked or commented
  on their own work); `community.user.followed` notifies the followee;
  `community.suggestion.created` is seen by the user it is for (`user_id`) only.
- Everything else (accounts being created or deleted, unfollows, work updates) is seen by nobody.

On the WebSocket a reader picks channels (`channel_for`: `me`, `feed`, `public`); a webhook
endpoint sees what `me` and `public` together would show its owner (`may_see`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

CHANNELS = ("me", "feed", "public")
NOTIFY_AUTHOR = frozenset({"community.work.liked", "community.work.commented"})
OWNED_DOMAINS = ("trainer.", "inference.", "assets.", "webhooks.")
# Community subjects somebody may see (the rest of `community.*` is seen by nobody).
SUGGESTION = "community.suggestion.created"
COMMUNITY_SEEN = frozenset({"community.work.published", "community.user.followed", SUGGESTION, *NOTIFY_AUTHOR})


@dataclass(frozen=True, slots=True)
class EventInfo:
    """What visibility needs from one event, plus its serialised body without `sequence`."""

    stream: str
    seq: int
    subject: str
    owner_id: str | None = None  # the user for whom it is a `me` event
    author_id: str | None = None  # author of a published work
    public: bool = False  # a public work was published
    follower_id: str | None = None  # set on community.user.followed / unfollowed
    followee_id: str | None = None
    unfollowed: bool = False
    body: str = ""


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def may_be_seen(subject: str) -> bool:
    """Whether events of `subject` are ever seen by anyone (what a webhook may subscribe to)."""
    return subject.startswith(OWNED_DOMAINS) or subject in COMMUNITY_SEEN


def describe(stream: str, seq: int, raw: bytes | str) -> EventInfo:
    """Parse an event as stored on its stream; an unreadable one is visible to nobody."""
    try:
        doc = json.loads(raw)
        subject = str(doc["type"]).removeprefix("atelier.")
        data = doc.get("data") or {}
        if not isinstance(data, dict):
            raise TypeError("data is not an object")
    except (ValueError, KeyError, TypeError):
        return EventInfo(stream, seq, "")
    doc.pop("sequence", None)
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    if subject.startswith(OWNED_DOMAINS):
        return EventInfo(stream, seq, subject, owner_id=_text(data.get("owner_id")), body=body)
    if subject == "community.work.published":
        author = _text(data.get("author_id"))
        return EventInfo(stream, seq, subject, owner_id=author, author_id=author,
                         public=data.get("visibility") == "public", body=body)
    if subject in NOTIFY_AUTHOR:
        author = _text(data.get("author_id"))
        # Liking or commenting on one's own work notifies nobody.
        owner = author if author != _text(data.get("user_id")) else None
        return EventInfo(stream, seq, subject, owner_id=owner, body=body)
    if subject == "community.user.followed":
        return EventInfo(stream, seq, subject, owner_id=_text(data.get("followee_id")),
                         follower_id=_text(data.get("follower_id")),
                         followee_id=_text(data.get("followee_id")), body=body)
    if subject == SUGGESTION:
        return EventInfo(stream, seq, subject, owner_id=_text(data.get("user_id")), body=body)
    if subject == "community.user.unfollowed":  # nobody is notified; the follower's feed shrinks
        return EventInfo(stream, seq, subject, follower_id=_text(data.get("follower_id")),
                         followee_id=_text(data.get("followee_id")), unfollowed=True, body=body)
    return EventInfo(stream, seq, subject)


def channel_for(info: EventInfo, user_id: str, channels: frozenset[str], followees: set[str]) -> str | None:
    """The channel through which this user receives the event, or None if they must not."""
    if not info.body:
        return None
    if "me" in channels and info.owner_id == user_id:
        return "me"
    if info.public:
        if "feed" in channels and info.author_id in followees:
            return "feed"
        if "public" in channels:
            return "public"
    return None


def may_see(info: EventInfo, user_id: str) -> bool:
    """Whether `user_id` may see the event at all (their `me` events and public works)."""
    return channel_for(info, user_id, frozenset({"me", "public"}), set()) is not None


def frame(info: EventInfo, cursor: str, channel: str) -> str:
    """The CloudEvent as sent: its body plus the `sequence` and `channel` extension attributes."""
    return f'{info.body[:-1]},"sequence":"{cursor}","channel":"{channel}"}}'
