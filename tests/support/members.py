"""A signed-up user of the public API, with the calls end-to-end tests repeat."""

from __future__ import annotations

import io
import secrets
from typing import Any

import aiohttp
from PIL import Image

PASSWORD = "correct horse battery"


class Member:
    def __init__(self, http: aiohttp.ClientSession, session: dict[str, Any]) -> None:
        self.http = http
        self.id: str = session["user"]["id"]
        self.username: str = session["user"]["username"]
        self.token: str = session["token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    async def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        """Send a request as this user; fail the test unless the status is `expect`."""
        kwargs.setdefault("headers", self.headers)
        async with self.http.request(method, path, **kwargs) as resp:
            assert resp.status == expect, f"{method} {path}: {resp.status} {await resp.text()}"
            return await resp.json() if resp.content_type.endswith("json") else None

    async def upload(self) -> str:
        """Upload a small random PNG; returns the asset id."""
        buf = io.BytesIO()
        Image.frombytes("RGB", (16, 16), secrets.token_bytes(16 * 16 * 3)).save(buf, "PNG")
        asset = await self.call("POST", "/v1/assets", 201, data=buf.getvalue(),
                                headers={**self.headers, "Content-Type": "image/png"})
        return str(asset["id"])

    async def publish(self, title: str = "Untitled", **fields: Any) -> dict[str, Any]:
        """Publish a work made of one freshly uploaded image."""
        body = {"title": title, "asset_ids": [await self.upload()], **fields}
        return await self.call("POST", "/v1/works", 201, json=body)  # type: ignore[no-any-return]


async def sign_up(http: aiohttp.ClientSession, prefix: str = "u_") -> Member:
    name = prefix + secrets.token_hex(6)
    async with http.post("/v1/auth/signup", json={"username": name, "email": f"{name}@example.com",
                                                  "password": PASSWORD}) as resp:
        assert resp.status == 201, await resp.text()
        return Member(http, await resp.json())
