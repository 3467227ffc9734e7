"""Artists for the style-model tests: sign up (consenting to training), upload procedural works,
call the API, wait for a model, generate from it."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import aiohttp

from demo.art import png_bytes, render

PASSWORD = "correct horse battery"
# The "blobs" style with a width-16 VAE: 100 steps (~3 s on 2 idle cores) reach about 0.65 of the
# untrained SWD and a few percent of its reconstruction error.
TINY = {"architecture": "vae", "image_size": 32, "width": 16, "batch_size": 16}
STYLE = "blobs"
WAIT_S = 180.0


class Artist:
    def __init__(self, http: aiohttp.ClientSession, user: dict[str, Any], token: str) -> None:
        self.http, self.user, self.headers = http, user, {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, status: int, **kwargs: Any) -> Any:
        async with self.http.request(method, path, headers={**self.headers, **kwargs.pop("headers", {})},
                                     **kwargs) as resp:
            body = await resp.text()
            assert resp.status == status, f"{method} {path}: {resp.status} {body}"
            return json.loads(body) if body else None

    async def work(self, style: str, seed: int, *, allow_training: bool = True, visibility: str = "public") -> str:
        asset = await self.call("POST", "/v1/assets", 201, data=png_bytes(render(style, seed, 64)),
                                headers={"Content-Type": "image/png"})
        # Artists of these tests publish the same procedural series (the same pictures as other tests'
        # artists): as human work that needs the acknowledgement of a near duplicate (tests/e2e/test_rights.py).
        work = await self.call("POST", "/v1/works", 201, json={
            "title": f"{style} {seed}", "tags": [style], "asset_ids": [asset["id"]], "visibility": visibility,
            "origin": "human", "allow_training": allow_training, "acknowledge_similarity": True})
        return str(work["id"])

    async def wait(self, model_id: str, statuses: tuple[str, ...], timeout_s: float = WAIT_S) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            model = await self.call("GET", f"/v1/models/{model_id}", 200)
            if model["status"] in statuses:
                return model  # type: ignore[no-any-return]
            assert model["status"] not in ("failed", "canceled") or model["status"] in statuses, model
            assert asyncio.get_running_loop().time() < deadline, f"still {model['status']}: {model['progress']}"
            await asyncio.sleep(0.3)


async def artist(http: aiohttp.ClientSession, *, consent: bool = True) -> Artist:
    name = "t_" + secrets.token_hex(6)
    async with http.post("/v1/auth/signup", json={"username": name, "email": f"{name}@example.com",
                                                  "password": PASSWORD}) as resp:
        assert resp.status == 201, await resp.text()
        session = await resp.json()
    person = Artist(http, session["user"], session["token"])
    if consent:
        await person.call("PATCH", "/v1/me", 200, json={"allow_training": True})
    return person


async def generate(person: Artist, model_id: str, timeout_s: float = 60.0,
                   body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Ask for a generation (`body`, by default one image of seed 3) until inference has loaded the
    model, then wait for it to succeed; the finished generation."""
    body = body or {"model_id": model_id, "count": 1, "seed": 3}
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:  # inference learns of the version from trainer.model.trained and loads it
        async with person.http.post("/v1/generations", json=body, headers=person.headers) as resp:
            if resp.status == 202:
                accepted = await resp.json()
                break
            assert resp.status in (404, 409), await resp.text()
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.3)
    while True:
        generation = await person.call("GET", f"/v1/generations/{accepted['id']}", 200)
        if generation["status"] in ("succeeded", "failed"):
            assert generation["status"] == "succeeded", generation
            return generation  # type: ignore[no-any-return]
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.2)
