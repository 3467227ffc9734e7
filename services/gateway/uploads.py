"""The upload sequence at the edge: ticket -> relay -> abort or complete, and the direct variant.

`POST /v1/assets`: assets hands out a ticket (a presigned PUT, `svc.assets.uploads.create`), the
request body goes chunk by chunk to it, and `uploads.complete` validates and stores the file; if
the relay fails, `uploads.abort` removes what reached the store. The store (MinIO's S3 code)
refuses a PUT without Content-Length (411), so a body whose length is declared is relayed as it
arrives, and a chunked body or a multipart part (length unknown) is first spooled to a temporary
FILE, then PUT from it. Either way the bytes are counted and cut off past the limit.

`POST /v1/assets/{id}/complete` finishes a direct upload (the client PUT the file itself).
A new asset answers 201, a dedupe hit (the same bytes again from the same owner) 200.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator
from typing import IO

import aiohttp
from aiohttp import web

from services.gateway import quotas
from services.gateway.auth import require_user
from services.gateway.routing import forward_model
from services.gateway.store_http import CHUNK, HTTP_CLIENT
from shared.contracts import assets as a
from shared.errors import (
    AtelierError,
    BadRequest,
    PayloadTooLarge,
    ServiceUnavailable,
    Unprocessable,
    UnsupportedMediaType,
)
from shared.logging import get_logger

log = get_logger(__name__)
RAW_TYPES = ("image/png", "image/jpeg", "image/webp")
MULTIPART_FIELD = "file"
UPLOAD_LIMIT = web.AppKey("upload_max_bytes", int)


async def upload(request: web.Request) -> web.Response:
    require_user(request)
    limit = request.app[UPLOAD_LIMIT]
    check_upload_request(request, limit)
    await quotas.spend(request, quotas.UPLOADS)
    ticket: a.UploadTicket = await forward_model(request, a.UPLOADS_CREATE, a.UploadCreate(direct=False))
    began = time.perf_counter()
    try:
        size = await relay_upload(request, ticket.upload_url, limit)
    except TooLarge:
        await _abort(request, ticket.asset_id)
        raise too_large(limit) from None
    except BaseException:
        await _abort(request, ticket.asset_id)
        raise
    relayed = time.perf_counter()
    result: a.UploadCompleted = await forward_model(request, a.UPLOADS_COMPLETE, a.UploadRef(asset_id=ticket.asset_id))
    finished = time.perf_counter()
    log.info("gateway.upload.relayed", asset_id=result.asset.id, size=size,
             relay_ms=round((relayed - began) * 1000), created=result.created)
    timing = f"relay;dur={(relayed - began) * 1000:.1f}, finalize;dur={(finished - relayed) * 1000:.1f}"
    return _completed(result, {"Server-Timing": timing})


async def complete_direct_upload(request: web.Request) -> web.Response:
    require_user(request)
    result: a.UploadCompleted = await forward_model(request, a.UPLOADS_COMPLETE,
                                                    {"asset_id": request.match_info["id"]})
    return _completed(result, {})


def _completed(result: a.UploadCompleted, headers: dict[str, str]) -> web.Response:
    return web.Response(body=result.asset.model_dump_json(), status=201 if result.created else 200,
                        content_type="application/json",
                        headers={"Location": f"/v1/assets/{result.asset.id}", **headers})


async def _abort(request: web.Request, asset_id: str) -> None:
    """Best effort: the staged bytes (if any reached the store) are removed now, not by the sweeper."""
    try:
        await forward_model(request, a.UPLOADS_ABORT, a.UploadRef(asset_id=asset_id))
    except AtelierError as exc:
        log.warning("gateway.upload.abort_failed", asset_id=asset_id, error=exc.detail)


class TooLarge(Exception):
    pass


# What aiohttp's multipart reader raises on framing it cannot parse (a bad boundary, a header with a
# control character, an undecodable name).
_PARSE_ERRORS = (ValueError, AssertionError, LookupError, aiohttp.http_exceptions.HttpProcessingError)


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


def _malformed(exc: BaseException) -> BadRequest:
    return BadRequest(f"the multipart body is malformed ({type(exc).__name__}); send one part named "
                      f"'{MULTIPART_FIELD}' between well-formed boundaries")


async def _multipart_file(request: web.Request) -> AsyncIterator[bytes]:
    """The chunks of the one `file` part; the body must end with its closing boundary and hold no
    second `file` part (422). Unparseable framing is a 400, never a 500."""
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if isinstance(part, aiohttp.BodyPartReader) and part.name == MULTIPART_FIELD:
                return _file_then_rest(reader, part)
            if isinstance(part, aiohttp.BodyPartReader):
                await part.release()
    except _PARSE_ERRORS as exc:
        raise _malformed(exc) from None
    raise Unprocessable(f"the multipart body has no '{MULTIPART_FIELD}' field",
                        errors=[{"field": MULTIPART_FIELD, "message": "required"}])


async def _file_then_rest(reader: aiohttp.MultipartReader, part: aiohttp.BodyPartReader) -> AsyncIterator[bytes]:
    try:
        while chunk := await part.read_chunk(CHUNK):
            yield chunk
        while (other := await reader.next()) is not None:
            if isinstance(other, aiohttp.BodyPartReader) and other.name == MULTIPART_FIELD:
                raise Unprocessable(f"send one file per upload: the body has more than one '{MULTIPART_FIELD}' part",
                                    errors=[{"field": MULTIPART_FIELD, "message": "only one file per upload"}])
            await other.release()
        if not reader.at_eof():
            raise BadRequest("the multipart body ends before its closing boundary")
    except _PARSE_ERRORS as exc:
        raise _malformed(exc) from None


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
