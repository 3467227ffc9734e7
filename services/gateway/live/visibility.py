"""Who may see which event, decided once per event (`EventInfo`) and per connection (`channel_for`).

Channels a client subscribes to:
- `me`: the caller's own things — their style models' training (trainer.*), their generations
  (inference.*: `inference.generation.progress` as each image lands, then `.completed`, `.failed`
  or `.canceled`), their own published works, and notifications about them: likes and comments on
  their works, new followers.
- `feed`: public works published by artists the caller follows.
- `public`: every public work published.
An unlisted work is never in `feed` or `public` (only its author sees it in `me`); nobody receives
another user's trainer or inference events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

CHANNELS = ("me", "feed", "public")
_NOTIFY_AUTHOR = frozenset({"community.work.liked", "community.work.commented"})
_OWNED_DOMAINS = ("trainer.", "inference.")


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


def describe(stream: str, seq: int, raw: bytes) -> EventInfo:
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
    if subject.startswith(_OWNED_DOMAINS):
        return EventInfo(stream, seq, subject, owner_id=_text(data.get("owner_id")), body=body)
    if subject == "community.work.published":
        author = _text(data.get("author_id"))
        return EventInfo(stream, seq, subject, owner_id=author, author_id=author,
                         public=data.get("visibility") == "public", body=body)
    if subject in _NOTIFY_AUTHOR:
        author = _text(data.get("author_id"))
        # Liking or commenting on one's own work notifies nobody.
        owner = author if author != _text(data.get("user_id")) else None
        return EventInfo(stream, seq, subject, owner_id=owner, body=body)
    if subject == "community.user.followed":
        return EventInfo(stream, seq, subject, owner_id=_text(data.get("followee_id")),
                         follower_id=_text(data.get("follower_id")),
                         followee_id=_text(data.get("followee_id")), body=body)
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


def frame(info: EventInfo, cursor: str, channel: str) -> str:
    """The CloudEvent as sent: its body plus the `sequence` and `channel` extension attributes."""
    return f'{info.body[:-1]},"sequence":"{cursor}","channel":"{channel}"}}'
