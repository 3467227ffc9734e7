"""One service instance's endpoints on NATS, and its NATS micro discovery (PING, INFO, STATS).

The endpoint subscriptions are this module's own, not nats-py micro `Service`'s: its `stop()`
*unsubscribes* them, which throws away the requests the server had already delivered to this client
(RpcServer takes one message at a time per endpoint and holds the rest back while its slots are
taken), and their callers wait out their whole deadline (a 504 at the gateway) although another
replica was there. `Endpoints.stop()` drains them instead: the server sends no more (new requests
go to the other replicas at once), a round trip makes sure nothing is still on the way, and every
message received is handled. The discovery answers are nats-py micro's own documents
(`$SRV.<verb>`, `$SRV.<verb>.<name>`, `$SRV.<verb>.<name>.<id>`), so `nats micro` tools, the
gateway's health PING and the liveness watch see an ordinary micro service.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.micro.request import Request
from nats.micro.service import (
    DEFAULT_PREFIX,
    EndpointInfo,
    EndpointStats,
    ServiceInfo,
    ServicePing,
    ServiceStats,
    ServiceVerb,
    control_subject,
)

from shared.ids import new_id
from shared.logging import get_logger

log = get_logger(__name__)


class EndpointRequest(Request):
    """nats-py micro's request (respond, respond_error), and the subject its reply goes to."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(msg)
        self.reply: str = msg.reply


EndpointHandler = Callable[[EndpointRequest], Awaitable[None]]


@dataclass
class Endpoint:
    """One operation's subject in the service's queue group, and what it has served."""

    name: str
    subject: str
    queue_group: str
    requests: int = 0
    errors: int = 0
    processing_ns: int = 0
    last_error: str = ""
    subscription: Subscription | None = field(default=None, repr=False)

    def served(self, status: int | None, elapsed_ns: int, error: str = "") -> None:
        """Count one request that ended: `status` answered (None: none, the caller had given up)."""
        self.processing_ns += elapsed_ns
        if status is not None and status >= 400:
            self.errors += 1
            self.last_error = error or str(status)

    def stats(self) -> EndpointStats:
        average = self.processing_ns // self.requests if self.requests else 0
        return EndpointStats(name=self.name, subject=self.subject, queue_group=self.queue_group,
                             num_requests=self.requests, num_errors=self.errors, last_error=self.last_error,
                             processing_time=self.processing_ns, average_processing_time=average)


class Endpoints:
    """`add` the endpoints, `start` discovery, `stop(drain_s)` without dropping held requests."""

    def __init__(self, nc: NATS, name: str, version: str, queue_group: str,
                 metadata: Mapping[str, str] | None = None) -> None:
        self._nc = nc
        self.name, self.version, self.queue_group = name, version, queue_group
        self.id = new_id()
        self.metadata = dict(metadata or {})
        self.started = datetime.now(UTC)
        self.endpoints: list[Endpoint] = []
        self._verbs: list[Subscription] = []

    async def start(self) -> None:
        """Answer PING, INFO and STATS (before the endpoints take requests: a caller may ask at once)."""
        answers = {ServiceVerb.PING: self.ping, ServiceVerb.INFO: self.info, ServiceVerb.STATS: self.stats}
        for verb, answer in answers.items():
            for subject in (control_subject(verb, prefix=DEFAULT_PREFIX),
                            control_subject(verb, name=self.name, prefix=DEFAULT_PREFIX),
                            control_subject(verb, name=self.name, id=self.id, prefix=DEFAULT_PREFIX)):
                self._verbs.append(await self._nc.subscribe(subject, cb=self._answering(answer)))
        self.started = datetime.now(UTC)

    async def add(self, endpoint: Endpoint, handler: EndpointHandler) -> None:
        """Subscribe `endpoint` in its queue group; `handler` gets its requests one at a time."""

        async def receive(msg: Msg) -> None:
            endpoint.requests += 1
            await handler(EndpointRequest(msg))

        endpoint.subscription = await self._nc.subscribe(endpoint.subject, queue=endpoint.queue_group, cb=receive)
        self.endpoints.append(endpoint)

    async def stop(self, drain_s: float) -> None:
        """Drain every endpoint (up to `drain_s`; what is left then is dropped, with a warning), then
        stop answering discovery."""
        subscriptions = [ep.subscription for ep in self.endpoints if ep.subscription is not None]
        for endpoint in self.endpoints:
            endpoint.subscription = None
        drains = [asyncio.ensure_future(sub.drain()) for sub in subscriptions]  # type: ignore[no-untyped-call]
        if drains:
            _, late = await asyncio.wait(drains, timeout=drain_s)
            for task in late:
                task.cancel()
            if late:
                log.warning("rpc.stop.drain_timeout", endpoints=len(late), timeout_s=drain_s)
            for task in drains:  # a connection that closed meanwhile: nothing left to drain
                if task.done() and not task.cancelled() and task.exception() is not None:
                    log.warning("rpc.stop.drain_failed", error=repr(task.exception()))
        verbs, self._verbs = self._verbs, []
        for sub in verbs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    def ping(self) -> dict[str, object]:
        return ServicePing(id=self.id, name=self.name, version=self.version, metadata=self.metadata).to_dict()

    def info(self) -> dict[str, object]:
        endpoints = [EndpointInfo(name=ep.name, subject=ep.subject, queue_group=ep.queue_group)
                     for ep in self.endpoints]
        return ServiceInfo(name=self.name, id=self.id, version=self.version, endpoints=endpoints,
                           metadata=self.metadata).to_dict()

    def stats(self) -> dict[str, object]:
        started = self.started.replace(tzinfo=None)  # micro writes it as UTC with a `Z`
        return ServiceStats(id=self.id, name=self.name, version=self.version, started=started,
                            endpoints=[ep.stats() for ep in self.endpoints], metadata=self.metadata).to_dict()

    @staticmethod
    def _answering(answer: Callable[[], dict[str, object]]) -> Callable[[Msg], Awaitable[None]]:
        async def respond(msg: Msg) -> None:
            if msg.reply:
                with contextlib.suppress(Exception):  # the asker went away meanwhile
                    await msg.respond(json.dumps(answer()).encode())

        return respond
