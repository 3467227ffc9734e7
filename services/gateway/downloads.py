"""Streaming an asset's bytes from the object store to the client, chunk by chunk.

`GET /v1/assets/{id}/content` and `/thumbnail`: assets answers where the bytes are (a presigned
GET, `svc.assets.content_url`) and which validators to send; the gateway answers a matching
If-None-Match with 304, forwards a Range to the store (206/416) and streams the rest.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web

from services.gateway.routing import forward_model
from services.gateway.store_http import CHUNK, HTTP_CLIENT
from shared.contracts import assets as a
from shared.errors import ServiceUnavailable
from shared.logging import get_logger

log = get_logger(__name__)
PUBLIC_CACHE = "public, max-age=300"  # visibility can be withdrawn: shared caches re-check soon
PRIVATE_CACHE = "private, max-age=31536000, immutable"  # an id's bytes never change


async def content(request: web.Request) -> web.StreamResponse:
    return await stream_bytes(request, "content")


async def thumbnail(request: web.Request) -> web.StreamResponse:
    return await stream_bytes(request, "thumbnail")


async def stream_bytes(request: web.Request, variant: str) -> web.StreamResponse:
    info: a.AssetContentUrl = await forward_model(request, a.CONTENT_URL,
                                                  {"id": request.match_info["id"], "variant": variant})
    return await stream_from_store(request, info, cache_control=PUBLIC_CACHE if info.public else PRIVATE_CACHE)



def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match uses weak comparison: W/"x" matches "x"; '*' matches anything."""
    candidates = [c.strip().removeprefix("W/") for c in header.split(",")]
    return "*" in candidates or etag.removeprefix("W/") in candidates


class Unsatisfiable(Exception):
    pass


def _range_header(request: web.Request, etag: str, size: int | None) -> str | None:
    """The single byte range to ask the store for, or None for the whole file.

    A malformed or multi-range header is ignored (RFC 9110 allows it); If-Range with another
    validator also means the whole file. Raises Unsatisfiable for a range past the end.
    """
    if "Range" not in request.headers:
        return None
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != etag:
        return None
    try:
        wanted = request.http_range
    except ValueError:
        return None
    start, stop = wanted.start, wanted.stop
    if start is None and stop is None:
        return None
    if start is not None and start < 0:
        return f"bytes={start}"  # suffix: the last -start bytes
    if size is not None and (start or 0) >= size:
        raise Unsatisfiable
    return f"bytes={start or 0}-{'' if stop is None else stop - 1}"


async def stream_from_store(request: web.Request, info: a.AssetContentUrl, *, cache_control: str,
                            ) -> web.StreamResponse:
    """Answer a GET/HEAD for stored bytes: 304 on a matching If-None-Match, Range → 206/416."""
    etag = info.etag
    headers = {
        "ETag": etag,
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'inline; filename="{info.filename}"',
        "Accept-Ranges": "bytes",
    }
    if not info.public:
        headers["Vary"] = "Authorization"
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and _etag_matches(if_none_match, etag):
        return web.Response(status=304, headers=headers)
    upstream_headers: dict[str, str] = {}
    size = info.size
    try:
        wanted = _range_header(request, etag, size)
    except Unsatisfiable:
        return web.Response(status=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    if wanted is not None:
        upstream_headers["Range"] = wanted
    session = request.app[HTTP_CLIENT]
    try:
        async with session.get(info.url, headers=upstream_headers) as upstream:
            if upstream.status == 416:
                return web.Response(status=416, headers={**headers, "Content-Range": f"bytes */{size or '*'}"})
            if upstream.status not in (200, 206):
                log.warning("gateway.download.store_status", status=upstream.status)
                raise ServiceUnavailable("the object store did not return the file")
            response = web.StreamResponse(status=upstream.status, headers=headers)
            response.content_type = info.content_type
            response.content_length = upstream.content_length
            if upstream.status == 206:
                response.headers["Content-Range"] = upstream.headers["Content-Range"]
            await response.prepare(request)
            if request.method != "HEAD":
                async for chunk in upstream.content.iter_chunked(CHUNK):
                    await response.write(chunk)
            await response.write_eof()
            return response
    except (aiohttp.ClientError, TimeoutError):
        raise ServiceUnavailable("the object store is not reachable") from None
