"""The gateway's HTTP client for the object store: presigned PUTs (uploads) and GETs (downloads)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

CHUNK = 256 * 1024
HTTP_CLIENT = web.AppKey("upload_http_client", aiohttp.ClientSession)
# No total limit (a big file on a slow link takes long); every socket read and connect is bounded.
STORE_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=5.0, sock_read=60.0)


async def http_client_ctx(app: web.Application) -> AsyncIterator[None]:
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector, timeout=STORE_TIMEOUT, auto_decompress=False) as session:
        app[HTTP_CLIENT] = session
        yield
