"""Watched calls (shared/messaging/liveness.py) with a stand-in for NATS: a call that nobody claims
and no saturated instance may have queued counts as lost after LOST_AFTER questions; one that a
saturated instance may hold, or whose holder lives, keeps waiting."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nats.errors import TimeoutError as NatsTimeoutError

from shared.messaging import liveness


class Reply:
    def __init__(self, data: bytes) -> None:
        self.data = data


class FakeNats:
    """Answers "who holds call X?" with `holder_answers` in turn (None: nobody answers in time);
    every instance is older than the request and alive."""

    is_connected = True

    def __init__(self, holder_answers: list[bytes | None]) -> None:
        self.holder_answers = holder_answers
        self.questions = 0

    async def request(self, subject: str, data: bytes, timeout: float) -> Reply:
        if subject == liveness.holder_subject("community"):
            answer = self.holder_answers[min(self.questions, len(self.holder_answers) - 1)]
            self.questions += 1
            if answer is None:
                raise NatsTimeoutError
            return Reply(answer)
        if subject.startswith("$SRV.PING."):
            return Reply(b'{"metadata": {"started_ms": "1"}}')  # older than any request
        return Reply(b"")  # an alive probe answered

    def new_inbox(self) -> str:
        return "_INBOX.x"

    async def subscribe(self, subject: str) -> Any:
        raise RuntimeError("not used: the first PING answer is an older instance")


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(liveness, "HOLDER_AFTER_S", 0.0)
    monkeypatch.setattr(liveness, "WATCH_AFTER_S", 0.0)
    monkeypatch.setattr(liveness, "WATCH_EVERY_S", 0.001)


async def test_a_call_nobody_claims_is_lost_after_a_few_questions_beside_an_older_replica() -> None:
    nc = FakeNats([None])
    await asyncio.wait_for(liveness.service_gone(nc, "community", 2, "call-1"), 2)  # type: ignore[arg-type]
    assert nc.questions == 1 + liveness.LOST_AFTER


async def test_a_call_whose_holder_answered_but_whose_answer_never_came_is_lost() -> None:
    nc = FakeNats([b"instance-a", b"instance-a", None])
    await asyncio.wait_for(liveness.service_gone(nc, "community", 2, "call-1"), 2)  # type: ignore[arg-type]
    assert nc.questions == 2 + liveness.LOST_AFTER


@pytest.mark.parametrize("answer", [liveness.QUEUED.encode(), b"instance-a"])
async def test_a_call_held_or_maybe_queued_keeps_waiting(answer: bytes) -> None:
    nc = FakeNats([None, None, answer])  # unclaimed twice, then held (or maybe queued) for good
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(liveness.service_gone(nc, "community", 2, "call-1"), 0.3)  # type: ignore[arg-type]
    assert nc.questions > liveness.LOST_AFTER + 2


async def test_a_saturated_instance_says_the_call_may_be_queued() -> None:
    holdings = liveness.Holdings(None, "community")  # type: ignore[arg-type]
    slots = asyncio.Semaphore(1)
    holdings.track(slots)
    assert not holdings.saturated()
    await slots.acquire()  # every slot taken
    assert holdings.saturated()


@pytest.mark.parametrize("answers", [[liveness.LOST.encode()], [b"instance-a", liveness.LOST.encode()]])
async def test_a_call_its_holder_can_no_longer_answer_ends_at_the_first_lost(answers: list[bytes | None]) -> None:
    nc = FakeNats(answers)  # the holder reconnected to NATS since it received the call
    heard: list[str] = []
    why = await asyncio.wait_for(liveness.service_gone(nc, "community", 2, "call-1", heard), 2)  # type: ignore[arg-type]
    assert nc.questions == len(answers) and why == "its holder can no longer answer it"
    assert heard == [a.decode() for a in answers if a is not None]
