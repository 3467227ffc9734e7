"""Demo data for `make run`: an artist with procedurally generated works, a visitor who follows
and likes them, and a short training run — all through the public API, like a real client.

Safe to run again: accounts are signed in when they exist, works are created once (an existing
portfolio is kept), and a missing backend (e.g. no trainer yet) is reported, not fatal.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from demo.art import png_bytes, render

ARTIST = ("mira", "mira@atelier.example", "atelier-demo-1")
VISITOR = ("teo", "teo@atelier.example", "atelier-demo-1")
PORTFOLIO = [("waves", seed) for seed in range(4)] + [("geometric", seed) for seed in range(4)]
TIMEOUT = aiohttp.ClientTimeout(total=60)


class DemoError(RuntimeError):
    pass


async def _call(http: aiohttp.ClientSession, method: str, path: str, token: str | None = None,
                ok: tuple[int, ...] = (200, 201, 202, 204), **kwargs: Any) -> tuple[int, Any]:
    headers = dict(kwargs.pop("headers", {}))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with http.request(method, path, headers=headers, **kwargs) as resp:
        body = await resp.json() if resp.content_type.endswith("json") else None
        if resp.status not in ok:
            raise DemoError(f"{method} {path}: {resp.status} {body}")
        return resp.status, body


async def _account(http: aiohttp.ClientSession, username: str, email: str, password: str) -> dict[str, Any]:
    status, body = await _call(http, "POST", "/v1/auth/signup", ok=(201, 409),
                               json={"username": username, "email": email, "password": password})
    if status == 409:
        _, body = await _call(http, "POST", "/v1/auth/login", json={"login": username, "password": password})
    return body  # type: ignore[no-any-return]


async def _portfolio(http: aiohttp.ClientSession, token: str, username: str) -> list[dict[str, Any]]:
    _, page = await _call(http, "GET", f"/v1/works?author={username}&limit=50", token)
    if page["items"]:
        return page["items"]  # type: ignore[no-any-return]
    works = []
    for style, seed in PORTFOLIO:
        image = await asyncio.to_thread(lambda s=style, n=seed: png_bytes(render(s, n, 256)))
        _, asset = await _call(http, "POST", "/v1/assets", token, data=image,
                               headers={"Content-Type": "image/png", "Idempotency-Key": f"demo-asset-{style}-{seed}"})
        key = {"Idempotency-Key": f"demo-work-{style}-{seed}"}
        _, work = await _call(http, "POST", "/v1/works", token, headers=key,
                              json={"title": f"{style.title()} study {seed + 1}", "tags": [style, "procedural"],
                                    "description": f"A procedural {style} piece (seed {seed}).",
                                    "asset_ids": [asset["id"]], "visibility": "public", "origin": "human",
                                    "allow_training": True})
        works.append(work)
    return works


async def _visitor(http: aiohttp.ClientSession, artist: str, works: list[dict[str, Any]]) -> None:
    visitor = await _account(http, *VISITOR)
    token = visitor["token"]
    await _call(http, "PUT", f"/v1/users/{artist}/follow", token)
    for work in works[:3]:
        await _call(http, "PUT", f"/v1/works/{work['id']}/like", token)
    if works:
        await _call(http, "POST", f"/v1/works/{works[0]['id']}/comments", token,
                    headers={"Idempotency-Key": "demo-comment-1"}, json={"body": "Love the palette!"})


async def _train(http: aiohttp.ClientSession, token: str, works: list[dict[str, Any]]) -> str:
    waves = [w["id"] for w in works if "waves" in w.get("tags", [])]
    try:
        _, model = await _call(http, "POST", "/v1/models", token, headers={"Idempotency-Key": "demo-model-waves"},
                               json={"name": "Waves", "architecture": "dcgan", "work_ids": waves,
                                     "image_size": 32, "steps": 200})
    except DemoError as exc:
        if " 404 " in str(exc):
            return "style-model training is not deployed yet"
        return f"training not started ({exc})"
    return f"training style model {model['id']} ({model.get('status', 'queued')})"


async def _seed(gateway_url: str) -> str:
    async with aiohttp.ClientSession(base_url=gateway_url, timeout=TIMEOUT) as http:
        artist = await _account(http, *ARTIST)
        token = artist["token"]
        await _call(http, "PATCH", "/v1/me", token,
                    json={"display_name": "Mira (demo)", "bio": "Waves and shapes.", "allow_training": True})
        works = await _portfolio(http, token, ARTIST[0])
        await _visitor(http, ARTIST[0], works)
        training = await _train(http, token, works)
    return (f"demo: sign in at {gateway_url} as {ARTIST[0]} / {ARTIST[2]} (artist, {len(works)} works) "
            f"or {VISITOR[0]} / {VISITOR[2]}; {training}")


def seed(endpoints: object, gateway_url: str) -> str:
    """Called by `python -m deploy.local run` once the platform is up; returns a line to print."""
    if not gateway_url:
        return "demo: no gateway running, nothing seeded"
    return asyncio.run(_seed(gateway_url))
