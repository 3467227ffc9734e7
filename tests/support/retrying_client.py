"""A patient client of the fault tests: every creating POST carries an Idempotency-Key and is retried
with the same key on a refused connection, a 409, a 502/503/504 (never on a 500: that fails the
test), and a read is retried the same way (but on a 409); `Figures` records what it saw (lockouts
per key, retried answers, times of every answer)."""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from PIL import Image

from tests.support.members import PASSWORD

RETRYABLE = {0, 409, 502, 503, 504}


@dataclass
class Figures:
    lockouts: dict[str, float] = field(default_factory=dict)  # key -> seconds refused with 409
    refused: dict[int, int] = field(default_factory=dict)  # status (0: no connection) -> count
    successes: list[float] = field(default_factory=list)  # monotonic time of every 2xx
    failures: list[float] = field(default_factory=list)  # monotonic time of every retried answer

    def recovery_s(self, since: float) -> float:
        """From `since` until everything works again: the first success after the last failure."""
        failed = [t for t in self.failures if t > since]
        if not failed:
            return 0.0  # nobody noticed
        return min(t for t in self.successes if t > failed[-1]) - since


def png() -> bytes:
    buf = io.BytesIO()
    Image.frombytes("RGB", (16, 16), secrets.token_bytes(16 * 16 * 3)).save(buf, "PNG")
    return buf.getvalue()


async def until_done(http: aiohttp.ClientSession, path: str, figures: Figures, headers: dict[str, str],
                     key: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """POST with one Idempotency-Key (`key`, or a fresh one) until it succeeds, as a patient client would."""
    key = key or secrets.token_hex(8)
    return await _until_ok(http, "POST", path, figures, {**headers, "Idempotency-Key": key}, key, **kwargs)


async def read_until_ok(http: aiohttp.ClientSession, path: str, figures: Figures, headers: dict[str, str],
                        **kwargs: Any) -> dict[str, Any]:
    """GET until it answers 2xx, retrying what `until_done` retries (but a 409: a read holds no key)."""
    return await _until_ok(http, "GET", path, figures, headers, None, **kwargs)


async def _until_ok(http: aiohttp.ClientSession, method: str, path: str, figures: Figures,
                    headers: dict[str, str], key: str | None, **kwargs: Any) -> dict[str, Any]:
    retryable = RETRYABLE if key is not None else RETRYABLE - {409}
    refused_since: float | None = None
    deadline = time.monotonic() + 60
    while True:
        body: bytes = b""
        try:
            async with http.request(method, path, headers=headers, **kwargs) as resp:
                status, body = resp.status, await resp.read()
                if status == 503:
                    assert resp.headers.get("Retry-After"), "a 503 without Retry-After"
                    assert resp.content_type == "application/problem+json"
        except (TimeoutError, aiohttp.ClientConnectionError):
            status = 0
        now = time.monotonic()
        if key is not None and status == 409 and refused_since is None:
            refused_since = now
        elif key is not None and status != 409 and refused_since is not None:
            figures.lockouts[key] = figures.lockouts.get(key, 0.0) + now - refused_since
            refused_since = None
        if 200 <= status < 300:
            figures.successes.append(now)
            return json.loads(body)  # type: ignore[no-any-return]
        assert status in retryable, f"{method} {path}: {status} {body[:300]!r}"
        figures.refused[status] = figures.refused.get(status, 0) + 1
        figures.failures.append(now)
        assert now < deadline, f"{method} {path} still failing after 60 s (last {status})"
        await asyncio.sleep(0.2)


async def sign_up(http: aiohttp.ClientSession, figures: Figures) -> dict[str, Any]:
    name = "f_" + secrets.token_hex(6)
    return await until_done(http, "/v1/auth/signup", figures, {},
                            json={"username": name, "email": f"{name}@example.com", "password": PASSWORD})




async def until_read(http: aiohttp.ClientSession, path: str, figures: Figures, headers: dict[str, str],
                     **kwargs: Any) -> Any:
    """GET `path` until it answers 200, retrying what `until_done` retries (a 503 must carry Retry-After)."""
    deadline = time.monotonic() + 60
    while True:
        body: bytes = b""
        try:
            async with http.get(path, headers=headers, **kwargs) as resp:
                status, body = resp.status, await resp.read()
                if status == 503:
                    assert resp.headers.get("Retry-After"), "a 503 without Retry-After"
        except (TimeoutError, aiohttp.ClientConnectionError):
            status = 0
        now = time.monotonic()
        if status == 200:
            figures.successes.append(now)
            return json.loads(body)
        assert status in RETRYABLE - {409}, f"GET {path}: {status} {body[:300]!r}"
        figures.refused[status] = figures.refused.get(status, 0) + 1
        figures.failures.append(now)
        assert now < deadline, f"GET {path} still failing after 60 s (last {status})"
        await asyncio.sleep(0.2)


async def make_works(http: aiohttp.ClientSession, session: dict[str, Any], figures: Figures,
                     progress: asyncio.Queue[int], count: int, title: str) -> tuple[str, list[str]]:
    """`count` public works of one member, each upload and work retried until done; each made work
    is put on `progress`. The member's username and the work ids."""
    auth = {"Authorization": f"Bearer {session['token']}"}
    work_ids = []
    for i in range(count):
        asset = await until_done(http, "/v1/assets", figures, {**auth, "Content-Type": "image/png"}, data=png())
        work = await until_done(http, "/v1/works", figures, auth,
                                json={"title": f"{title} {i}", "asset_ids": [asset["id"]], "visibility": "public"})
        work_ids.append(work["id"])
        progress.put_nowait(i)
    return session["user"]["username"], work_ids
