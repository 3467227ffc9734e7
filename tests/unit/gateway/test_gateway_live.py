"""Live events without I/O: cursors, who sees what, and the replay → live handover."""

from __future__ import annotations

import json

import pytest

from services.gateway.live.connection import followee_ids
from services.gateway.live.cursor import BadCursor, decode_cursor, encode_cursor
from services.gateway.live.subscriber import SLOW_CLIENT_CLOSE, Subscriber
from services.gateway.live.visibility import EventInfo, channel_for, describe
from shared.contracts.events import make_event
from shared.contracts.events.catalog import (
    GenerationFailed,
    TrainingProgress,
    UserCreated,
    UserFollowed,
    UserUnfollowed,
    WorkCommented,
    WorkLiked,
    WorkPublished,
)


def raw(payload: object) -> bytes:
    return make_event(payload, service="t", subject_id="s").to_json()  # type: ignore[arg-type]


def published(author: str, visibility: str = "public") -> WorkPublished:
    return WorkPublished(work_id="w", author_id=author, title="t", origin="human", tags=[], asset_ids=["a"],
                         visibility=visibility)  # type: ignore[arg-type]


def progress(owner: str) -> TrainingProgress:
    return TrainingProgress(model_id="m", owner_id=owner, version=1, step=1, total_steps=2, losses={})


# -- cursor ---------------------------------------------------------------------------------------


def test_cursor_round_trips_in_a_fixed_order() -> None:
    text = encode_cursor({"TRAINER": 33, "COMMUNITY": 120, "INFERENCE": 7})
    assert text == "COMMUNITY=120,INFERENCE=7,TRAINER=33"
    assert decode_cursor(text) == {"COMMUNITY": 120, "INFERENCE": 7, "TRAINER": 33}
    assert decode_cursor("TRAINER=0") == {"TRAINER": 0}


@pytest.mark.parametrize("bad", ["", "COMMUNITY", "COMMUNITY=-1", "community=1", "OTHER=1",
                                 "COMMUNITY=1,COMMUNITY=2", "COMMUNITY=1;TRAINER=2", "X" * 600, 42])
def test_bad_cursors_are_refused(bad: object) -> None:
    with pytest.raises(BadCursor):
        decode_cursor(bad)  # type: ignore[arg-type]


# -- visibility -----------------------------------------------------------------------------------

ME, OTHER, FAN = "u-me", "u-other", "u-fan"
ALL = frozenset({"me", "feed", "public"})


def see(payload: object, user: str = ME, channels: frozenset[str] = ALL, followees: set[str] | None = None,
        stream: str = "COMMUNITY") -> str | None:
    return channel_for(describe(stream, 1, raw(payload)), user, channels, followees or set())


def test_owners_alone_see_trainer_and_inference_events() -> None:
    assert see(progress(ME), stream="TRAINER") == "me"
    assert see(progress(OTHER), stream="TRAINER") is None
    failed = GenerationFailed(generation_id="g", owner_id=OTHER, model_id="m", error="x")
    assert see(failed, stream="INFERENCE") is None
    assert see(failed, user=OTHER, stream="INFERENCE") == "me"
    assert see(progress(ME), channels=frozenset({"public", "feed"}), stream="TRAINER") is None


def test_published_works_by_channel_and_visibility() -> None:
    assert see(published(OTHER)) == "public"
    assert see(published(OTHER), followees={OTHER}) == "feed"
    assert see(published(OTHER), channels=frozenset({"me"})) is None
    assert see(published(OTHER), channels=frozenset({"feed"})) is None  # not followed
    # An unlisted work reaches nobody but its author.
    assert see(published(OTHER, "unlisted"), followees={OTHER}) is None
    assert see(published(ME, "unlisted")) == "me"


def test_notifications_go_to_the_author_only() -> None:
    like = WorkLiked(work_id="w", user_id=FAN, author_id=ME)
    assert see(like) == "me" and see(like, user=FAN) is None and see(like, user=OTHER) is None
    assert see(WorkLiked(work_id="w", user_id=ME, author_id=ME)) is None  # own like: no notification
    assert see(WorkCommented(work_id="w", comment_id="c", user_id=FAN, author_id=ME)) == "me"
    assert see(UserFollowed(follower_id=FAN, followee_id=ME)) == "me"
    assert see(UserFollowed(follower_id=FAN, followee_id=ME), user=FAN) is None
    assert see(UserCreated(user_id=ME, username="me")) is None


def test_unreadable_events_are_seen_by_nobody_and_sequence_is_not_spoofable() -> None:
    assert channel_for(describe("COMMUNITY", 1, b"not json"), ME, ALL, set()) is None
    info = describe("COMMUNITY", 5, raw(published(OTHER)).replace(b'"specversion"', b'"sequence":"X=1","specversion"'))
    assert '"sequence"' not in info.body


# -- subscriber -----------------------------------------------------------------------------------


def info(seq: int, author: str = OTHER, stream: str = "COMMUNITY") -> EventInfo:
    return describe(stream, seq, raw(published(author)))


def make_subscriber(queue_max: int = 100, catchup_max: int = 100) -> tuple[Subscriber, list[tuple[int, str]]]:
    closed: list[tuple[int, str]] = []
    sub = Subscriber(ME, queue_max=queue_max, catchup_max=catchup_max, on_close=lambda c, r: closed.append((c, r)))
    sub.channels = frozenset({"public"})
    sub.positions = {"COMMUNITY": 0, "INFERENCE": 0, "TRAINER": 0}
    return sub, closed


def drain(sub: Subscriber) -> list[dict[str, object]]:
    out = []
    while not sub.queue.empty():
        out.append(json.loads(sub.queue.get_nowait()))
    return out


async def test_handover_from_replay_to_live_has_no_gap_and_no_duplicate() -> None:
    sub, _ = make_subscriber()
    sub.positions["COMMUNITY"] = 10  # the client's `since`
    sub.offer(info(12))  # live events arrive while the replay runs ...
    sub.offer(info(13))
    for seq in (11, 12):  # ... and the replay reaches the end read at registration (12)
        await sub.replay(info(seq))
    sub.go_live()
    sub.offer(info(14))
    sub.offer(info(13))  # a redelivery after a consumer reset
    frames = drain(sub)
    assert [f["sequence"] for f in frames] == [f"COMMUNITY={seq},INFERENCE=0,TRAINER=0" for seq in (11, 12, 13, 14)]
    assert all(f["channel"] == "public" for f in frames)


def test_invisible_events_advance_the_cursor_of_the_next_visible_one() -> None:
    sub, _ = make_subscriber()
    sub.go_live()
    sub.offer(describe("TRAINER", 4, raw(progress(OTHER))))
    sub.offer(info(2))
    (frame,) = drain(sub)
    assert frame["sequence"] == "COMMUNITY=2,INFERENCE=0,TRAINER=4"


def test_a_full_queue_closes_the_client_with_4008_instead_of_growing() -> None:
    sub, closed = make_subscriber(queue_max=3)
    sub.go_live()
    for seq in range(1, 10):
        sub.offer(info(seq))
    assert sub.queue.qsize() == 3
    assert closed and closed[0][0] == SLOW_CLIENT_CLOSE and "too slow" in closed[0][1]
    assert len(closed) == 1


def test_too_many_live_events_during_replay_close_the_client() -> None:
    sub, closed = make_subscriber(catchup_max=2)
    for seq in range(1, 5):
        sub.offer(info(seq))
    assert closed and closed[0][0] == SLOW_CLIENT_CLOSE


def test_following_someone_adds_them_to_the_feed_at_once_and_unfollowing_removes_them() -> None:
    sub, _ = make_subscriber()
    sub.channels = frozenset({"feed"})
    sub.go_live()
    sub.offer(info(1))
    sub.offer(describe("COMMUNITY", 2, raw(UserFollowed(follower_id=ME, followee_id=OTHER))))
    sub.offer(info(3))
    sub.offer(describe("COMMUNITY", 4, raw(UserUnfollowed(follower_id=ME, followee_id=OTHER))))
    sub.offer(info(5))
    frames = drain(sub)
    assert [f["channel"] for f in frames] == ["feed"] and sub.followees == set()


@pytest.mark.parametrize("reply", [["a", "b"], {"user_ids": ["a", "b"]}, {"items": [{"id": "a"}, {"user_id": "b"}]},
                                   {"followees": ["a", "b", 3]}])
def test_followee_replies_in_any_reasonable_shape(reply: object) -> None:
    assert followee_ids(reply) == {"a", "b"}
