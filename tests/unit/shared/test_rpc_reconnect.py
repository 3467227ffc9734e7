"""A request received on a NATS connection that is gone (the client reconnected since) cannot be
answered: its holder says LOST to "who holds call X?" from then on, so the caller's watch ends the
call with a 503 at once, and the answer, when the handler ends, is dropped with a warning that
carries the request id. Requests received on the current connection are claimed and answered; one
whose reply the server refused anyway is LOST too."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import structlog
from pydantic import BaseModel
from structlog.testing import capture_logs

from shared.contracts.operation import Operation
from shared.messaging import context, liveness
from shared.messaging.connection import on_publish_refused, publish_refused
from shared.messaging.endpoints import Endpoint
from shared.messaging.rpc import RpcServer


class Empty(BaseModel):
    pass


SLOW: Operation[Empty, Any] = Operation("probe", "thing.make", Empty, None, "a slow one", actor="none")


class ReconnectingNats:
    """nats-py's view of its connection: how many reconnects so far, and whether one is under way."""

    def __init__(self) -> None:
        self.stats = {"reconnects": 0}
        self.is_reconnecting = False

    def reconnect(self) -> None:
        self.stats["reconnects"] += 1


class FakeRequest:
    def __init__(self, call_id: str, request_id: str) -> None:
        self.data = b"{}"
        self.headers = {liveness.CALL_ID: call_id, context.REQUEST_ID: request_id}
        self.reply = f"_INBOX_gateway.Mux.{call_id}"
        self.answers: list[bytes] = []
        self.errors: list[str] = []

    async def respond(self, data: bytes) -> None:
        self.answers.append(data)

    async def respond_error(self, code: str, description: str, data: bytes = b"", headers: Any = None) -> None:
        self.errors.append(code)


def test_a_call_held_across_a_reconnect_is_lost_and_stays_lost_after_its_handler_ends() -> None:
    nc = ReconnectingNats()
    holdings = liveness.Holdings(nc, "probe")  # type: ignore[arg-type]
    holdings.hold("before", holdings.connection())
    assert holdings.answer_for("before") == holdings.instance
    nc.reconnect()
    holdings.hold("after", holdings.connection())
    assert holdings.answer_for("before") == liveness.LOST
    assert holdings.answer_for("after") == holdings.instance  # received on the new connection: answerable
    holdings.release("before")
    holdings.release("after")
    assert holdings.answer_for("before") == liveness.LOST  # its caller may still be asking
    assert holdings.answer_for("after") is None  # answered: nobody asks, nobody claims it
    assert holdings.answer_for("unknown") is None


def test_a_call_held_while_the_client_reconnects_cannot_be_answered() -> None:
    nc = ReconnectingNats()
    holdings = liveness.Holdings(nc, "probe")  # type: ignore[arg-type]
    connection = holdings.connection()
    nc.is_reconnecting = True  # a reply now would wait in the buffer for the next connection
    assert holdings.orphaned(connection)
    nc.is_reconnecting = False
    assert not holdings.orphaned(connection)


def test_lost_calls_are_forgotten_after_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    holdings = liveness.Holdings(ReconnectingNats(), "probe")  # type: ignore[arg-type]
    holdings.lose("old")
    monkeypatch.setattr(liveness, "LOST_KEPT_S", -1.0)
    holdings.lose("new")  # remembering one more forgets those kept long enough
    assert holdings.answer_for("old") is None and holdings.answer_for("new") == liveness.LOST


@pytest.mark.parametrize("reconnected", [False, True])
async def test_the_answer_to_a_request_from_a_connection_that_is_gone_is_dropped(reconnected: bool) -> None:
    nc = ReconnectingNats()
    server = RpcServer(nc, "probe")  # type: ignore[arg-type]
    handling, finish = asyncio.Event(), asyncio.Event()

    async def handler(body: Empty, call: Any) -> dict[str, str]:
        handling.set()
        await finish.wait()
        return {"made": "yes"}

    dispatch = server._wrap(SLOW, handler, Endpoint("thing-make", SLOW.subject, "svc-probe"))
    msg = FakeRequest("call-1", "req-77")
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await dispatch(msg)  # type: ignore[arg-type]
        await asyncio.wait_for(handling.wait(), 2)
        if reconnected:
            nc.reconnect()
        expected = liveness.LOST if reconnected else server._holdings.instance
        assert server._holdings.answer_for("call-1") == expected
        finish.set()
        await asyncio.wait_for(asyncio.gather(*server._in_flight), 2)
    if reconnected:
        assert msg.answers == [] and msg.errors == []
        dropped = [e for e in logs if e["event"] == "rpc.reply_dropped"]
        assert len(dropped) == 1 and dropped[0]["log_level"] == "warning"
        assert dropped[0]["request_id"] == "req-77" and dropped[0]["status"] == 200
        assert server._holdings.answer_for("call-1") == liveness.LOST
    else:
        assert msg.answers == [b'{"made":"yes"}']
        assert [e["status"] for e in logs if e["event"] == "rpc.served"] == [200]
        assert server._holdings.answer_for("call-1") is None


async def test_an_error_answer_after_a_reconnect_is_dropped_too() -> None:
    nc = ReconnectingNats()
    server = RpcServer(nc, "probe")  # type: ignore[arg-type]

    async def handler(body: Empty, call: Any) -> None:
        nc.reconnect()
        raise RuntimeError("a bug, but nobody could hear about it")

    msg = FakeRequest("call-2", "req-78")
    with capture_logs() as logs:
        await server._serve(msg, {}, SLOW, handler, 0)  # type: ignore[arg-type]
    assert msg.errors == [] and [e["status"] for e in logs if e["event"] == "rpc.reply_dropped"] == [500]


REFUSAL = 'nats: permissions violation for publish to "_inbox_gateway.mux.{}"'  # as nats-py reports it


def test_a_refused_reply_makes_its_call_lost_while_held_and_shortly_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reply refused although its call came on the current connection (taken from the client's queue
    only after a reconnect, or sent just before the client noticed the old connection was gone)."""
    nc = ReconnectingNats()
    holdings = liveness.Holdings(nc, "probe")  # type: ignore[arg-type]
    on_publish_refused(nc, holdings.refused)  # type: ignore[arg-type]  # as RpcServer.start does
    for call_id in ("held", "answered", "other"):
        holdings.hold(call_id, holdings.connection(), f"_INBOX_gateway.Mux.{call_id}")
    holdings.release("answered", "_INBOX_gateway.Mux.answered")
    with capture_logs() as logs:
        publish_refused(nc, REFUSAL.format("held"))  # type: ignore[arg-type]
        publish_refused(nc, REFUSAL.format("answered"))  # type: ignore[arg-type]
        publish_refused(nc, "nats: unknown protocol operation")  # type: ignore[arg-type]
    assert holdings.answer_for("held") == liveness.LOST and holdings.answer_for("answered") == liveness.LOST
    assert holdings.answer_for("other") == holdings.instance
    assert [e["call_id"] for e in logs if e["event"] == "rpc.reply_refused"] == ["held", "answered"]

    monkeypatch.setattr(liveness, "REFUSAL_WINDOW_S", -1.0)
    holdings.release("other", "_INBOX_gateway.Mux.other")  # answered long enough ago to be forgotten
    publish_refused(nc, REFUSAL.format("other"))  # type: ignore[arg-type]
    assert holdings.answer_for("other") is None


def test_a_failing_refusal_listener_does_not_keep_the_others_from_hearing_until_stopped() -> None:
    nc = ReconnectingNats()
    heard: list[str] = []

    def broken(subject: str) -> None:
        raise RuntimeError("a bug in a listener")

    stop_broken = on_publish_refused(nc, broken)  # type: ignore[arg-type]
    stop_heard = on_publish_refused(nc, heard.append)  # type: ignore[arg-type]
    with capture_logs() as logs:
        publish_refused(nc, REFUSAL.format("x"))  # type: ignore[arg-type]
    assert heard == ["_inbox_gateway.mux.x"]
    assert [e["event"] for e in logs] == ["nats.refusal_listener_failed"]
    stop_broken()
    stop_heard()
    publish_refused(nc, REFUSAL.format("y"))  # type: ignore[arg-type]
    assert heard == ["_inbox_gateway.mux.x"]  # stopped: it hears no more
