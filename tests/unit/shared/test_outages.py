"""Outages of NATS, PostgreSQL or a peer answer 503 with Retry-After (RPC layer and HTTP edge), fail
fast while NATS is disconnected, and every HTTP request leaves an access line with its id."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import asyncpg
import pytest
import structlog
from aiohttp import web
from nats.errors import ConnectionClosedError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import BaseModel
from structlog.testing import capture_logs

from shared.contracts.operation import Operation
from shared.errors import GatewayTimeout, ServiceUnavailable, error_from_problem
from shared.messaging.rpc import RpcServer, call_raw
from shared.outages import as_unavailable
from shared.web import create_base_app


class Empty(BaseModel):
    pass


OP: Operation[Empty, Any] = Operation("probe", "thing.get", Empty, None, "a test operation", actor="none")
SLOW: Operation[Empty, Any] = Operation("probe", "thing.make", Empty, None, "a slow one", actor="none", timeout_s=10)


@pytest.mark.parametrize("exc", [ConnectionRefusedError(111, "refused"), TimeoutError(),
                                 asyncpg.exceptions.CannotConnectNowError("starting up"),
                                 asyncpg.exceptions.ConnectionDoesNotExistError("closed"),
                                 asyncpg.exceptions.InternalClientError(
                                     "cannot switch to state 12; another operation (2) is in progress"),
                                 asyncpg.InterfaceError("cannot call Connection.fetchrow(): connection is closed")])
def test_outages_are_503_with_retry_after(exc: BaseException) -> None:
    err = as_unavailable(exc)
    assert err is not None and err.status == 503 and err.headers["Retry-After"] == "1"


@pytest.mark.parametrize("exc", [ValueError("bug"), KeyError("bug"), ConnectionResetError()])
def test_bugs_and_client_disconnects_are_not_outages(exc: BaseException) -> None:
    assert as_unavailable(exc) is None


def test_a_503_received_over_the_wire_keeps_retry_after() -> None:
    err = error_from_problem({"status": 503, "detail": "down"})
    assert isinstance(err, ServiceUnavailable) and err.headers["Retry-After"] == "1"


class FakeNats:
    is_reconnecting = False

    def __init__(self, connected: bool, error: Exception | None = None) -> None:
        self.stats = {"reconnects": 0}
        self.is_connected = connected
        self.error = error
        self.requests = 0

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        self.requests += 1
        assert self.error is not None
        raise self.error


async def test_a_call_while_nats_is_disconnected_fails_at_once() -> None:
    nc = FakeNats(connected=False)
    started = time.perf_counter()
    with pytest.raises(ServiceUnavailable) as raised:
        await call_raw(nc, OP, {})  # type: ignore[arg-type]
    assert time.perf_counter() - started < 0.05 and nc.requests == 0
    assert raised.value.headers["Retry-After"] == "1"


async def test_no_responders_is_503_and_a_closed_connection_too() -> None:
    with pytest.raises(ServiceUnavailable, match="probe service is not reachable"):
        await call_raw(FakeNats(True, NoRespondersError()), OP, {})  # type: ignore[arg-type]
    with pytest.raises(ServiceUnavailable):
        await call_raw(FakeNats(True, ConnectionClosedError()), OP, {})  # type: ignore[arg-type]


class FakeRequest:
    def __init__(self) -> None:
        self.data = b"{}"
        self.headers: dict[str, str] = {}
        self.errors: list[tuple[str, bytes]] = []

    async def respond(self, data: bytes) -> None:
        raise AssertionError("an outage must not answer as a success")

    async def respond_error(self, code: str, description: str, data: bytes = b"", headers: Any = None) -> None:
        self.errors.append((code, data))


async def test_a_database_outage_in_a_handler_answers_503_not_500() -> None:
    server = RpcServer(FakeNats(True), "probe")  # type: ignore[arg-type]

    async def handler(body: Empty, call: Any) -> None:
        raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")

    msg = FakeRequest()
    with capture_logs() as logs:
        await server._serve(msg, {}, OP, handler, 0)  # type: ignore[arg-type]
    assert [e["status"] for e in logs if e["event"] == "rpc.served"] == [503] and msg.errors[0][0] == "503"
    assert error_from_problem(json.loads(msg.errors[0][1])).status == 503
    assert not any(e["event"] == "rpc.unhandled" for e in logs)


async def test_http_outage_is_503_and_every_request_has_an_access_line(aiohttp_client) -> None:
    app = create_base_app()

    async def down(_: web.Request) -> web.Response:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    app.router.add_get("/down", down)
    client = await aiohttp_client(app)
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        resp = await client.get("/down", headers={"X-Request-ID": "req-42"})
    assert resp.status == 503 and resp.headers["Retry-After"] == "1"
    assert resp.content_type == "application/problem+json"
    access = [e for e in logs if e["event"] == "http.access"]
    assert len(access) == 1 and access[0]["log_level"] == "info"
    assert access[0]["method"] == "GET" and access[0]["path"] == "/down" and access[0]["status"] == 503
    assert access[0]["ms"] >= 0 and access[0]["request_id"] == "req-42"


class DyingPeerNats:
    """The request went to an instance that died: no reply ever comes; PING finds nobody (or someone)."""

    def __init__(self, alive: bool) -> None:
        self.is_connected = True
        self.alive = alive
        self.pings = 0

    async def request(self, subject: str, *args: Any, **kwargs: Any) -> Any:
        if subject.startswith("$SRV.PING."):
            self.pings += 1
            if not self.alive:
                raise NoRespondersError()
            return object()
        await asyncio.sleep(kwargs["timeout"])
        raise NatsTimeoutError()


async def test_a_watched_call_to_a_service_that_died_answers_503_in_about_a_second() -> None:
    nc = DyingPeerNats(alive=False)
    started = time.perf_counter()
    with pytest.raises(ServiceUnavailable, match="stopped while handling"):
        await call_raw(nc, SLOW, {}, watch_peer=True)  # type: ignore[arg-type]
    assert time.perf_counter() - started < 2.5 and nc.pings == 1


async def test_a_watched_call_to_a_live_but_slow_service_waits_its_deadline() -> None:
    nc = DyingPeerNats(alive=True)
    with pytest.raises(GatewayTimeout):
        await call_raw(nc, SLOW, {}, watch_peer=True, timeout=2.5)  # type: ignore[arg-type]
    assert nc.pings >= 1
