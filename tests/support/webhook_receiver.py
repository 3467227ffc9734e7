"""A local webhook receiver for tests and the benchmark: an aiohttp server on a free loopback port
that records every request per path and answers as each path is told to (`/r/<name>`)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() on arrival


@dataclass
class Behaviour:
    statuses: list[int] = field(default_factory=list)  # answered in turn; then `then`
    then: int = 200
    delay_s: float = 0.0  # wait this long before answering (a slow or dead receiver)


class Receiver:
    def __init__(self) -> None:
        self.received: dict[str, list[Received]] = defaultdict(list)
        self.behaviour: dict[str, Behaviour] = {}
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def url(self, name: str) -> str:
        return f"{self.base_url}/r/{name}"

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/r/{name}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = await request.read()
        async with self._arrived:
            self.received[name].append(Received(dict(request.headers), body, time.time()))
            self._arrived.notify_all()
        behaviour = self.behaviour.get(name, Behaviour())
        if behaviour.delay_s:
            await asyncio.sleep(behaviour.delay_s)
        status = behaviour.statuses.pop(0) if behaviour.statuses else behaviour.then
        return web.Response(status=status, text="ok" if status < 300 else "no")

    async def wait_for(self, name: str, predicate: Any, timeout_s: float = 30.0) -> list[Received]:
        """Wait until `predicate(requests of name)` holds; returns those requests."""
        async def until() -> list[Received]:
            async with self._arrived:
                await self._arrived.wait_for(lambda: predicate(self.received[name]))
                return list(self.received[name])
        return await asyncio.wait_for(until(), timeout_s)
