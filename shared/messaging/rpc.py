"""Request/reply over NATS with typed errors, deadlines and context propagation.

Every operation is declared once in `shared.contracts` (service, name, request and response
models, problems, deadline). The serving side registers a handler against the declaration; the
calling side calls the declaration:

    rpc = RpcServer(nc, "community")
    rpc.serve(c.AUTH_SIGNUP, signup)      # async def signup(body: SignupBody, call: Call) -> ...
    await rpc.start()
    user = await call(nc, c.USERS_GET, {"user_id": uid})   # -> c.USERS_GET.response instance

The server uses the nats-py `micro` services API (discovery, PING/STATS/INFO for free): endpoints
listen on `svc.<service>.<operation>` in the service's queue group. An `AtelierError` raised by a
handler travels as a micro error reply whose body is the problem document; `call` raises the same
typed error again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.micro import add_service
from nats.micro.request import ERROR_CODE_HEADER, ERROR_HEADER, Request
from nats.micro.service import Service, ServiceConfig
from pydantic import BaseModel, ValidationError

from shared.contracts.common import idempotency_key
from shared.contracts.operation import Operation, operations
from shared.errors import (
    AtelierError,
    BadRequest,
    GatewayTimeout,
    ServiceUnavailable,
    Unauthorized,
    Unprocessable,
    error_from_problem,
    validation_errors,
)
from shared.ids import new_id
from shared.logging import bound_context, get_logger
from shared.messaging import context, liveness
from shared.messaging.service_drain import drain_service
from shared.outages import as_unavailable

log = get_logger(__name__)
Req = TypeVar("Req", bound=BaseModel)
Res = TypeVar("Res", bound=BaseModel)


@dataclass(frozen=True)
class Call:
    """Who is calling and how: what a handler knows beyond its request model."""

    headers: Mapping[str, str]
    actor_id: str | None

    @property
    def actor(self) -> str:
        """The acting user; only for operations declared with `actor="required"` (checked before the call)."""
        if not self.actor_id:
            raise Unauthorized("this operation needs an authenticated user")
        return self.actor_id

    @property
    def idempotency_key(self) -> str | None:
        return idempotency_key(self.headers)


Handler = Callable[[Any, Call], Awaitable[Any]]


def _encode(result: Any) -> bytes:
    """JSON bytes of a handler's result or a call's payload; datetimes as RFC 3339 with `Z`.

    orjson does the common case (serialising a page of works was a tenth of community's CPU with the
    standard encoder); the standard encoder takes what orjson refuses, such as integers beyond 64 bits.
    """
    if result is None:
        return b"null"
    if isinstance(result, BaseModel):
        return result.model_dump_json().encode()
    try:
        return orjson.dumps(result, default=_json_default, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(result, default=_json_default).encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _decode(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:  # valid JSON orjson refuses, such as integers beyond 64 bits
        return json.loads(raw)


DEFAULT_CONCURRENCY = 64  # requests of one operation one instance handles at once


class RpcServer:
    """The operations one service serves. `check_responses` validates every answer against its
    declared response model (tests and development: a drifting contract is a loud 500)."""

    def __init__(self, nc: NATS, service: str, *, version: str = "0.1.0", check_responses: bool = False,
                 concurrency: int = DEFAULT_CONCURRENCY) -> None:
        self._nc = nc
        self.service = service
        self._version = version
        self._check_responses = check_responses
        self._handlers: dict[str, tuple[Operation[Any, Any], Handler]] = {}
        self._micro: Service | None = None
        # nats-py hands an endpoint's messages to its callback one at a time: each request runs in a
        # task of its own instead, up to `concurrency` at once per operation; past that the endpoint
        # stops taking messages (they wait in the client, then in the server) until one finishes.
        self._concurrency = concurrency
        self._in_flight: set[asyncio.Task[None]] = set()
        self._holdings = liveness.Holdings(nc, service)

    def serve(self, op: Operation[Req, Any], handler: Callable[[Req, Call], Awaitable[Any]]) -> None:
        if op.service != self.service:
            raise ValueError(f"{op.subject} belongs to {op.service}, not to {self.service}")
        if op.name in self._handlers:
            raise ValueError(f"RPC operation served twice: {op.subject}")
        self._handlers[op.name] = (op, handler)

    @property
    def operations(self) -> list[str]:
        return sorted(self._handlers)

    def missing(self) -> list[str]:
        """Declared operations of this service that nothing serves."""
        return [op.name for op in operations(self.service) if op.name not in self._handlers]

    async def start(self) -> None:
        if missing := self.missing():
            raise RuntimeError(f"{self.service} declares operations it does not serve: {missing}")
        # Taken before subscribing: a request sent earlier than this cannot be in this instance's
        # hands, which is how a watching caller tells a replacement from the instance that died.
        started = {liveness.STARTED_METADATA: str(int(time.time() * 1000))}
        await self._holdings.start()
        self._micro = await add_service(
            self._nc,
            ServiceConfig(name=self.service, version=self._version, queue_group=f"svc-{self.service}",
                          metadata=started),
        )
        for op, handler in self._handlers.values():
            await self._micro.add_endpoint(name=op.name.replace(".", "-"), subject=op.subject,
                                           handler=self._wrap(op, handler))

    async def stop(self, drain_s: float = 10.0) -> None:
        """Stop taking requests, then let those in flight answer (cancelled after `drain_s`)."""
        if self._micro is not None:
            await drain_service(self._micro, drain_s)  # not Service.stop(): that drops held requests
            self._micro = None
        if self._in_flight:
            _, late = await asyncio.wait(set(self._in_flight), timeout=drain_s)
            for task in late:
                task.cancel()
            if late:
                log.warning("rpc.stop.cancelled", requests=len(late))
                await asyncio.wait(late, timeout=1.0)
        await self._holdings.stop()  # only now: a watching caller still waits for those answers

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def _wrap(self, op: Operation[Any, Any], handler: Handler) -> Callable[[Request], Awaitable[None]]:
        slots = asyncio.Semaphore(self._concurrency)
        self._holdings.track(slots)  # all taken: requests may wait unclaimed in this instance's queue

        async def serve_one(msg: Request) -> None:
            try:
                headers = dict(msg.headers or {})
                with bound_context(rpc=f"{self.service}.{op.name}", **context.context_from_headers(headers)):
                    await self._serve(msg, headers, op, handler)
            finally:
                slots.release()

        async def dispatch(msg: Request) -> None:
            call_id = msg.headers.get(liveness.CALL_ID) if msg.headers else None
            self._holdings.hold(call_id)  # a watching caller may now ask who holds its call
            try:
                await slots.acquire()  # back-pressure: the endpoint reads no further message until a slot frees
            except BaseException:
                self._holdings.release(call_id)
                raise
            task = asyncio.create_task(serve_one(msg), name=f"rpc:{op.subject}")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
            task.add_done_callback(lambda _: self._holdings.release(call_id))

        return dispatch

    async def _serve(self, msg: Request, headers: dict[str, str], op: Operation[Any, Any], handler: Handler) -> None:
        deadline = headers.get(context.DEADLINE)
        if deadline and deadline.isdigit() and int(deadline) < time.time() * 1000:
            log.info("rpc.deadline.expired")
            return  # the caller has given up: do no work nobody waits for
        started = time.perf_counter()
        status = await self._answer(msg, headers, op, handler)
        # The access line: every request's id (bound above) with what it got and how long it took.
        log.info("rpc.served", status=status, ms=round((time.perf_counter() - started) * 1000, 1))

    async def _answer(self, msg: Request, headers: dict[str, str], op: Operation[Any, Any], handler: Handler) -> int:
        """Run the handler and respond; returns the status answered."""
        try:
            call = Call(headers, headers.get(context.ACTOR) if op.actor != "none" else None)
            if op.actor == "required" and not call.actor_id:
                raise Unauthorized("this operation needs an authenticated user")
            try:
                data = _decode(msg.data) if msg.data else None
            except ValueError:
                raise BadRequest("the RPC body is not valid JSON") from None
            try:
                request = op.request.model_validate(data if data is not None else {})
            except ValidationError as exc:
                raise Unprocessable("the request body is not valid", errors=validation_errors(exc)) from None
            result = await handler(request, call)
            if self._check_responses:
                self._check(op, result)
            await msg.respond(_encode(result))
            return 200
        except AtelierError as exc:
            return await self._respond_error(msg, exc)
        except ValidationError as exc:
            invalid = Unprocessable("the request is not valid", errors=validation_errors(exc))
            return await self._respond_error(msg, invalid)
        except Exception as exc:
            unavailable = as_unavailable(exc)
            if unavailable is not None:  # the database or the bus is down: retry soon, not a bug
                log.warning("rpc.dependency_unavailable", error=type(exc).__name__, detail=str(exc)[:200])
                return await self._respond_error(msg, unavailable)
            log.exception("rpc.unhandled")
            return await self._respond_error(msg, AtelierError("an unexpected error occurred"))

    @staticmethod
    async def _respond_error(msg: Request, exc: AtelierError) -> int:
        if exc.status >= 500:
            log.warning("rpc.error", status=exc.status, detail=exc.detail)
        try:
            await msg.respond_error(str(exc.status), exc.title, json.dumps(exc.to_problem()).encode())
        except Exception as send_exc:  # the bus went away meanwhile: the caller sees its own timeout
            log.warning("rpc.respond_failed", error=type(send_exc).__name__)
        return exc.status

    @staticmethod
    def _check(op: Operation[Any, Any], result: Any) -> None:
        if op.response is None or isinstance(result, op.response):
            return
        try:
            op.response.model_validate_json(_encode(result))
        except ValidationError as exc:
            log.error("rpc.response.invalid", errors=validation_errors(exc)[:5])
            raise AtelierError(f"{op.subject} answered outside its contract") from None


async def _request(nc: NATS, op: Operation[Any, Any], data: bytes, timeout: float, headers: dict[str, str],
                   watch_peer: bool) -> Any:
    if not watch_peer or timeout <= liveness.WATCH_AFTER_S + liveness.WATCH_EVERY_S:
        return await nc.request(op.subject, data, timeout=timeout, headers=headers)
    sent_ms = int(time.time() * 1000)
    call_id = new_id()
    headers = {**headers, liveness.CALL_ID: call_id}
    reply = asyncio.ensure_future(nc.request(op.subject, data, timeout=timeout, headers=headers))
    gone = asyncio.ensure_future(liveness.service_gone(nc, op.service, sent_ms, call_id))
    try:
        await asyncio.wait((reply, gone), return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gone
    if not reply.done():  # the instance handling it died with it: no answer will ever come
        reply.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reply
        log.warning("rpc.peer_gone", subject=op.subject)
        raise ServiceUnavailable(f"the {op.service} service stopped while handling the request; retry shortly")
    return reply.result()


async def call_raw(
    nc: NATS,
    op: Operation[Any, Any],
    payload: BaseModel | Mapping[str, Any] | None = None,
    *,
    actor_id: str | None = None,
    timeout: float | None = None,
    headers: Mapping[str, str] | None = None,
    watch_peer: bool = False,
) -> bytes:
    """Call `op`; returns the reply's JSON bytes or raises its typed error.

    For callers that only pass the answer on (the gateway): no decode and re-encode on the hot path.
    `watch_peer` (callers allowed to PING the service, such as the gateway): a call still waiting
    after a second checks every second that an instance of the service which was already serving
    when the request left is alive, and answers 503 at once when none is (the one that had the
    request died, even if a replacement is already up) instead of waiting out its deadline.
    """
    timeout = timeout or op.timeout_s
    extra = {context.DEADLINE: str(int((time.time() + timeout) * 1000))}
    if actor_id:
        extra[context.ACTOR] = actor_id
    if headers:
        extra.update(headers)
    if not nc.is_connected:  # a request now would only sit in the reconnect buffer until its deadline
        raise ServiceUnavailable("the message bus is not reachable right now; retry shortly")
    try:
        reply = await _request(nc, op, _encode(payload), timeout, context.outgoing_headers(extra), watch_peer)
    except NoRespondersError:  # nobody listens on the subject: the server says so at once
        raise ServiceUnavailable(f"the {op.service} service is not reachable") from None
    except NatsTimeoutError:
        if not nc.is_connected:
            raise ServiceUnavailable("the message bus connection was lost; retry shortly") from None
        raise GatewayTimeout(f"the {op.service} service did not answer in time") from None
    except Exception as exc:
        unavailable = as_unavailable(exc)
        if unavailable is None:
            raise
        raise unavailable from None
    if reply.headers and reply.headers.get(ERROR_CODE_HEADER):
        try:
            problem = json.loads(reply.data)
        except ValueError:
            problem = {"status": int(reply.headers[ERROR_CODE_HEADER]), "detail": reply.headers.get(ERROR_HEADER)}
        raise error_from_problem(problem)
    return reply.data or b"null"


async def call(
    nc: NATS,
    op: Operation[Any, Res],
    payload: BaseModel | Mapping[str, Any] | None = None,
    *,
    actor_id: str | None = None,
    timeout: float | None = None,
    headers: Mapping[str, str] | None = None,
    watch_peer: bool = False,
) -> Res:
    """Call `op`; returns its response model, or raises the typed error it answered with."""
    raw = await call_raw(nc, op, payload, actor_id=actor_id, timeout=timeout, headers=headers,
                         watch_peer=watch_peer)
    if op.response is None:
        return None  # type: ignore[return-value]  # an operation without a response body answers null
    return op.response.model_validate(_decode(raw))

