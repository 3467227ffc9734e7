"""A client as a real one is written, for the rolling-restart test: each request is retried at most
RETRIES times, with backoff, on a refused or dropped connection, a 502/503/504, or a 409 for an
Idempotency-Key still in progress, always with the same key. Anything else, or a request still
failing after its retries, is a failure the test reports. `Tally` counts what it saw."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.support.members import PASSWORD
from tests.support.retrying_client import png

RETRIES = 3
BACKOFF_S = (0.5, 1.0, 2.0)  # before retry 1, 2, 3
RETRYABLE = {0, 502, 503, 504}
STUDIO_PAUSE_S = 1.0  # between a studio's rounds: one artist, not a load test
IN_PROGRESS = 409  # retried only with an Idempotency-Key: "a request with this key is still in progress"


@dataclass
class Tally:
    requests: int = 0
    retried_requests: int = 0  # requests that needed at least one retry (and then succeeded)
    retries: dict[int, int] = field(default_factory=dict)  # status (0: no connection) -> retries after it
    failures: list[str] = field(default_factory=list)  # what failed beyond its retries, or at once
    phase: str = ""  # set by the test: what is being restarted now
    by_phase: dict[str, list[str]] = field(default_factory=dict)  # phase it left in -> retried answers


    def describe(self) -> str:
        shown = ", ".join(f"{'no connection' if s == 0 else s}: {n}" for s, n in sorted(self.retries.items()))
        return (f"{self.requests} requests, {self.retried_requests} needed a retry ({shown or 'none'}), "
                f"{len(self.failures)} failed")


class Failed(Exception):
    """A request failed beyond the retries a real client makes (recorded in the tally)."""


async def call(http: aiohttp.ClientSession, tally: Tally, method: str, path: str, *,
               headers: dict[str, str] | None = None, key: str | None = None, **kwargs: Any) -> Any:
    """One request with a real client's retries; its JSON answer (None for an empty one)."""
    headers = dict(headers or {})
    if key is not None:
        headers["Idempotency-Key"] = key
    tally.requests += 1
    phase = tally.phase  # what was being restarted when the request left
    seen: list[str] = []
    for attempt in range(RETRIES + 1):
        body = b""
        try:
            async with http.request(method, path, headers=headers, **kwargs) as resp:
                status, body = resp.status, await resp.read()
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:
            status, body = 0, repr(exc).encode()
        if 200 <= status < 300:
            tally.retried_requests += 1 if attempt else 0
            return json.loads(body) if body else None
        seen.append(f"{status} {body[:200]!r}")
        retryable = status in RETRYABLE or (status == IN_PROGRESS and key is not None)
        if not retryable or attempt == RETRIES:
            tally.failures.append(f"{time.strftime('%H:%M:%S')} {method} {path}: " + " / ".join(seen))
            raise Failed(seen[-1])
        tally.retries[status] = tally.retries.get(status, 0) + 1
        detail = f" {body[:160]!r}" if status else ""
        tally.by_phase.setdefault(phase, []).append(f"{status} {method} {path}{detail}")
        await asyncio.sleep(BACKOFF_S[attempt])
    raise AssertionError("unreachable")


@dataclass
class Member:
    username: str
    token: str = ""
    works: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> acknowledged work id

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def member_loop(http: aiohttp.ClientSession, tally: Tally, stop: asyncio.Event) -> Member:
    """Sign up, then until `stop`: log in, upload an image, create a public work from it (with an
    Idempotency-Key), read the trending feed and the member's own works. A failed step (recorded)
    skips the rest of that round."""
    name = "r_" + secrets.token_hex(6)
    member = Member(name)
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    member.token = (await call(http, tally, "POST", "/v1/auth/signup", key=f"signup-{name}", json=body))["token"]
    round_no = 0
    while not stop.is_set():
        round_no += 1
        try:
            login = await call(http, tally, "POST", "/v1/auth/login", json={"login": name, "password": PASSWORD})
            member.token = login["token"]
            asset = await call(http, tally, "POST", "/v1/assets", key=f"asset-{name}-{round_no}",
                               headers={**member.auth, "Content-Type": "image/png"}, data=png())
            key = f"work-{name}-{round_no}"
            work = {"title": f"rolling {round_no}", "asset_ids": [asset["id"]], "visibility": "public"}
            member.works[key] = (await call(http, tally, "POST", "/v1/works", key=key, headers=member.auth,
                                            json=work))["id"]
            await call(http, tally, "GET", "/v1/feed/trending", params={"limit": "10"})
            await call(http, tally, "GET", "/v1/works", params={"author": name, "limit": "5"})
        except Failed:
            await asyncio.sleep(0.2)
    return member


async def studio_loop(http: aiohttp.ClientSession, tally: Tally, stop: asyncio.Event, auth: dict[str, str],
                      model_id: str, generations: list[str]) -> None:
    """Until `stop`: generate two images from `model_id` (an Idempotency-Key each; acknowledged ids go to
    `generations`) and wait until they are made, read the credits, the webhook endpoints and the
    models: a round touches inference, market, webhooks and trainer."""
    round_no = 0
    while not stop.is_set():
        round_no += 1
        try:
            body = {"model_id": model_id, "count": 2, "seed": round_no}
            accepted = await call(http, tally, "POST", "/v1/generations", key=f"gen-{secrets.token_hex(6)}",
                                  headers=auth, json=body)
            generations.append(accepted["id"])
            deadline = time.monotonic() + 60
            while (await call(http, tally, "GET", f"/v1/generations/{accepted['id']}", headers=auth))["status"] \
                    in ("queued", "running"):
                if time.monotonic() > deadline:
                    tally.failures.append(f"generation {accepted['id']} not made within 60 s")
                    raise Failed("generation not made")
                await asyncio.sleep(0.3)
            await call(http, tally, "GET", "/v1/me/credits", headers=auth)
            await call(http, tally, "GET", "/v1/webhooks", headers=auth)
            await call(http, tally, "GET", "/v1/models", headers=auth, params={"limit": "5"})
            await asyncio.sleep(STUDIO_PAUSE_S)
        except Failed:
            await asyncio.sleep(0.2)
