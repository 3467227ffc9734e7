"""Moving file bytes between clients and the object store without holding a file in memory.

Uploads: the request body goes chunk by chunk to a presigned PUT that assets hands out. The store
(MinIO's S3 code) refuses a PUT without Content-Length (411), so a body whose length is declared is
relayed as it arrives, and a chunked body or a multipart part (length unknown) is first spooled to
a temporary FILE, then PUT from it. Either way the bytes are counted and cut off past the limit.

Downloads: a presigned GET is streamed back chunk by chunk, Range forwarded to the store.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from typing import IO, Any

import aiohttp
from aiohttp import web

from shared.errors import PayloadTooLarge, ServiceUnavailable, Unprocessable, UnsupportedMediaType
from shared.logging import get_logger

log = get_logger(__name__)
CHUNK = 256 * 1024
RAW_TYPES = ("image/png", "image/jpeg", "image/webp")
MULTIPART_FIELD = "file"
HTTP_CLIENT = web.AppKey("upload_http_client", aiohttp.ClientSession)
# No total limit (a big file on a slow link takes long); every socket read and connect is bounded.
STORE_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=5.0, sock_read=60.0)


class TooLarge(Exception):
    pass


async def http_client_ctx(app: web.Application) -> AsyncIterator[None]:
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector, timeout=STORE_TIMEOUT, auto_decompress=False) as session:
        app[HTTP_CLIENT] = session
        yield


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the file is larger than the upload limit of {limit} bytes",
                           extra={"max_bytes": limit})


def check_upload_request(request: web.Request, limit: int) -> None:
    """Refuse what can be refused before a byte is read: wrong media type, declared size too big."""
    if request.content_type not in (*RAW_TYPES, "multipart/form-data"):
        raise UnsupportedMediaType(
            "send the image as the raw body (Content-Type image/png, image/jpeg or image/webp) "
            f"or as multipart/form-data field '{MULTIPART_FIELD}'")
    declared = request.content_length
    if declared is not None and declared > limit and request.content_type in RAW_TYPES:
        raise too_large(limit)
    if declared == 0:
        raise Unprocessable("the request body is empty")


async def relay_upload(request: web.Request, upload_url: str, limit: int) -> int:
    """Send the request's file to `upload_url`; returns the bytes sent. Raises TooLarge past `limit`."""
    session = request.app[HTTP_CLIENT]
    if request.content_type in RAW_TYPES and request.content_length is not None:
        size = request.content_length
        await _put(session, upload_url, _counted(request.content.iter_chunked(CHUNK), limit), size)
        return size
    with tempfile.TemporaryFile(prefix="atelier-upload-") as spool:
        if request.content_type in RAW_TYPES:
            size = await _spool(request.content.iter_chunked(CHUNK), spool, limit)
        else:
            size = await _spool(await _multipart_file(request), spool, limit)
        if size == 0:
            raise Unprocessable("the uploaded file is empty")
        spool.seek(0)
        await _put(session, upload_url, spool, size)  # aiohttp reads a file payload in a thread
        return size


async def _counted(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise TooLarge
        yield chunk


async def _spool(chunks: AsyncIterator[bytes], spool: IO[bytes], limit: int) -> int:
    loop = asyncio.get_running_loop()
    total = 0
    async for chunk in _counted(chunks, limit):
        total += len(chunk)
        await loop.run_in_executor(None, spool.write, chunk)
    return total


async def _multipart_file(request: web.Request) -> AsyncIterator[bytes]:
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if isinstance(part, aiohttp.BodyPartReader) and part.name == MULTIPART_FIELD:
            return _part_chunks(part)
        if isinstance(part, aiohttp.BodyPartReader):
            await part.release()
    raise Unprocessable(f"the multipart body has no '{MULTIPART_FIELD}' field",
                        errors=[{"field": MULTIPART_FIELD, "message": "required"}])


async def _part_chunks(part: aiohttp.BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK):
        yield chunk


async def _put(session: aiohttp.ClientSession, url: str, data: object, size: int) -> None:
    try:
        async with session.put(url, data=data, headers={"Content-Length": str(size)}) as resp:
            if resp.status != 200:
                raise ServiceUnavailable(f"the object store refused the upload ({resp.status})")
    except TooLarge:
        raise
    except aiohttp.ClientPayloadError:
        raise Unprocessable("the upload was interrupted before the whole body arrived") from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        if isinstance(exc.__cause__, TooLarge) or isinstance(exc.__context__, TooLarge):
            raise TooLarge from None
        raise ServiceUnavailable("the object store is not reachable") from None


# -- downloads ---------------------------------------------------------------------------------


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


async def stream_from_store(request: web.Request, info: dict[str, Any], *, cache_control: str) -> web.StreamResponse:
    """Answer a GET/HEAD for stored bytes: 304 on a matching If-None-Match, Range → 206/416."""
    etag = info["etag"]
    headers = {
        "ETag": etag,
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'inline; filename="{info["filename"]}"',
        "Accept-Ranges": "bytes",
    }
    if not info["public"]:
        headers["Vary"] = "Authorization"
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and _etag_matches(if_none_match, etag):
        return web.Response(status=304, headers=headers)
    upstream_headers = {}
    size = info.get("size")
    try:
        wanted = _range_header(request, etag, size)
    except Unsatisfiable:
        return web.Response(status=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    if wanted is not None:
        upstream_headers["Range"] = wanted
    session = request.app[HTTP_CLIENT]
    try:
        async with session.get(info["url"], headers=upstream_headers) as upstream:
            if upstream.status == 416:
                return web.Response(status=416, headers={**headers, "Content-Range": f"bytes */{size or '*'}"})
            if upstream.status not in (200, 206):
                log.warning("gateway.download.store_status", status=upstream.status)
                raise ServiceUnavailable("the object store did not return the file")
            response = web.StreamResponse(status=upstream.status, headers=headers)
            response.content_type = info["content_type"]
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
