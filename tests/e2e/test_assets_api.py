"""Uploads and downloads through the gateway, against the real store, database and NATS.

Every bad upload must get its 4xx and leave nothing behind: the tests list the bucket under the
user's prefixes and count the user's rows. Users are fresh per test (tokens are minted with the
stack's signing key, so these tests need only assets and the gateway).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import jwt
import numpy as np
import pytest
from PIL import Image

from demo.art import PALETTES, render
from shared.ids import new_id

MiB = 1024 * 1024


def token_for(endpoints: Any, user_id: str) -> str:
    now = datetime.now(UTC)
    key = endpoints.jwt_private_key_file.read_text()
    return jwt.encode({"sub": user_id, "iss": "atelier", "iat": now, "exp": now + timedelta(minutes=30),
                       "username": f"u{user_id[-8:].lower()}"}, key, algorithm="EdDSA")


class User:
    def __init__(self, endpoints: Any) -> None:
        self.id = new_id()
        self.headers = {"Authorization": f"Bearer {token_for(endpoints, self.id)}"}


def encode(img: Image.Image, fmt: str, **kwargs: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def gps_exif() -> bytes:
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    return exif.tobytes()


@pytest.fixture
async def leftovers(endpoints: Any) -> Any:
    """Counts what a user has in the bucket (any prefix) and in the assets table."""
    from deploy.local.s3 import minio_client

    client = minio_client(endpoints.s3_endpoint, endpoints.s3_access_key, endpoints.s3_secret_key)
    conn = await asyncpg.connect(endpoints.database_url, timeout=5)

    async def count(user: User) -> tuple[int, int]:
        def objects() -> int:
            return sum(len(list(client.list_objects(endpoints.s3_bucket, prefix=f"{p}/{user.id}/", recursive=True)))
                       for p in ("staging", "originals", "thumbnails"))

        rows = await conn.fetchval("SELECT count(*) FROM assets.assets WHERE owner_id = $1", user.id)
        return await asyncio.to_thread(objects), rows

    try:
        yield count
    finally:
        await conn.close()


async def upload(http: aiohttp.ClientSession, user: User, data: Any,
                 content_type: str | None) -> aiohttp.ClientResponse:
    headers = {**user.headers, **({"Content-Type": content_type} if content_type else {})}
    resp = await http.post("/v1/assets", data=data, headers=headers)
    await resp.read()
    return resp


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
async def test_upload_then_download_is_byte_identical(http: Any, endpoints: Any, platform: Any, fmt: str) -> None:
    user = User(endpoints)
    data = encode(render("geometric", 21, 384), fmt)
    resp = await upload(http, user, data, f"image/{fmt.lower()}")
    assert resp.status == 201, await resp.text()
    asset = await resp.json()
    assert asset["sha256"] == hashlib.sha256(data).hexdigest()
    assert (asset["width"], asset["height"], asset["size"]) == (384, 384, len(data))
    assert asset["content_type"] == f"image/{fmt.lower()}"
    assert resp.headers["Location"] == f"/v1/assets/{asset['id']}"
    async with http.get(asset["urls"]["content"], headers=user.headers) as got:
        assert got.status == 200 and got.content_type == asset["content_type"]
        assert await got.read() == data
    async with http.get(asset["urls"]["thumbnail"], headers=user.headers) as got:
        assert got.status == 200 and got.content_type == "image/webp"
        with Image.open(io.BytesIO(await got.read())) as thumb:
            assert thumb.size == (256, 256)
    # The palette is the artwork's: its first colour is one of the style's paints.
    first = tuple(int(asset["palette"][0][i:i + 2], 16) for i in (1, 3, 5))
    assert min(np.linalg.norm(np.subtract(first, p)) for p in PALETTES["geometric"]) < 30


async def test_gps_metadata_is_stripped_but_pixels_kept(http: Any, endpoints: Any, platform: Any) -> None:
    user = User(endpoints)
    data = encode(render("dots", 3, 256), "JPEG", quality=92, exif=gps_exif())
    resp = await upload(http, user, data, "image/jpeg")
    assert resp.status == 201
    asset = await resp.json()
    async with http.get(asset["urls"]["content"], headers=user.headers) as got:
        stored = await got.read()
    assert len(stored) == asset["size"] < len(data) and hashlib.sha256(stored).hexdigest() == asset["sha256"]
    with Image.open(io.BytesIO(stored)) as clean, Image.open(io.BytesIO(data)) as raw:
        assert 0x8825 not in clean.getexif()
        assert np.array_equal(np.asarray(clean), np.asarray(raw))


async def test_same_bytes_again_return_the_existing_asset(http: Any, endpoints: Any, platform: Any,
                                                          leftovers: Any) -> None:
    user = User(endpoints)
    data = encode(render("waves", 5, 128), "PNG")
    first = await upload(http, user, data, "image/png")
    again = await upload(http, user, data, "image/png")
    assert (first.status, again.status) == (201, 200)
    assert (await first.json())["id"] == (await again.json())["id"]
    assert await leftovers(user) == (2, 1)  # one original + one thumbnail, one row
    other = User(endpoints)  # dedupe is per owner
    assert (await upload(http, other, data, "image/png")).status == 201


async def test_multipart_and_chunked_uploads(http: Any, endpoints: Any, platform: Any) -> None:
    user = User(endpoints)
    data = encode(render("stripes", 8, 200), "WEBP", quality=80)
    form = aiohttp.FormData()
    form.add_field("title", "ignored")
    form.add_field("file", data, filename="art.bin", content_type="application/octet-stream")
    resp = await upload(http, user, form, None)
    assert resp.status == 201 and (await resp.json())["content_type"] == "image/webp"

    png = encode(render("stripes", 9, 200), "PNG")

    async def chunks() -> Any:
        for i in range(0, len(png), 4096):
            yield png[i:i + 4096]

    resp = await upload(http, user, chunks(), "image/png")  # no Content-Length: spooled to a file
    assert resp.status == 201 and (await resp.json())["size"] == len(png)


def _bomb() -> bytes:
    return encode(Image.new("L", (9000, 9000)), "PNG")  # 81 MP of zeros: tiny file, huge decode


def _polyglot() -> bytes:
    return encode(render("dots", 2, 64), "PNG") + b"PK\x03\x04" + b"\x00" * 64


BAD_UPLOADS = [
    ("svg declared as png", b"<svg xmlns='http://www.w3.org/2000/svg'><script>1</script></svg>", "image/png", 415),
    ("html declared as jpeg", b"<!doctype html><html><script>alert(1)</script></html>", "image/jpeg", 415),
    ("gif", encode(Image.new("RGB", (8, 8)), "GIF"), "image/png", 415),
    ("declared text", b"hello", "text/plain", 415),
    ("truncated png", encode(render("geometric", 1, 128), "PNG")[:900], "image/png", 422),
    ("truncated jpeg", encode(render("geometric", 1, 128), "JPEG")[:-200], "image/jpeg", 422),
    ("polyglot png+zip", _polyglot(), "image/png", 422),
    ("decompression bomb", _bomb(), "image/png", 422),
    ("empty", b"", "image/png", 422),
]


@pytest.mark.parametrize("name, data, content_type, status", BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
async def test_bad_uploads_get_4xx_and_leave_nothing(http: Any, endpoints: Any, platform: Any, leftovers: Any,
                                                     name: str, data: bytes, content_type: str, status: int) -> None:
    user = User(endpoints)
    resp = await upload(http, user, data, content_type)
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    assert await leftovers(user) == (0, 0)


async def test_too_large_is_413_declared_or_streamed(http: Any, endpoints: Any, platform: Any,
                                                     leftovers: Any) -> None:
    user = User(endpoints)
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (21 * MiB)
    assert (await upload(http, user, big, "image/png")).status == 413

    async def endless() -> Any:
        for _ in range(24):
            yield b"\x00" * MiB

    assert (await upload(http, user, endless(), "image/png")).status == 413
    form = aiohttp.FormData()
    form.add_field("file", big, filename="big.png", content_type="image/png")
    assert (await upload(http, user, form, None)).status == 413
    assert await leftovers(user) == (0, 0)


async def test_upload_needs_a_token(http: Any, platform: Any) -> None:
    async with http.post("/v1/assets", data=b"x", headers={"Content-Type": "image/png"}) as resp:
        assert resp.status == 401


async def test_conditional_and_range_requests(http: Any, endpoints: Any, platform: Any) -> None:
    user = User(endpoints)
    data = encode(render("blobs", 4, 256), "PNG")
    asset = await (await upload(http, user, data, "image/png")).json()
    url = asset["urls"]["content"]
    async with http.get(url, headers=user.headers) as got:
        etag = got.headers["ETag"]
        assert etag == f'"{asset["sha256"]}"' and "max-age" in got.headers["Cache-Control"]
    async with http.get(url, headers={**user.headers, "If-None-Match": etag}) as got:
        assert got.status == 304 and await got.read() == b""
    async with http.get(url, headers={**user.headers, "Range": "bytes=10-19"}) as got:
        assert got.status == 206 and await got.read() == data[10:20]
        assert got.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    async with http.get(url, headers={**user.headers, "Range": "bytes=-16"}) as got:
        assert got.status == 206 and await got.read() == data[-16:]
    async with http.get(url, headers={**user.headers, "Range": f"bytes={len(data)}-"}) as got:
        assert got.status == 416 and got.headers["Content-Range"] == f"bytes */{len(data)}"
    async with http.get(url, headers={**user.headers, "Range": "bytes=0-1", "If-Range": '"other"'}) as got:
        assert got.status == 200 and await got.read() == data
