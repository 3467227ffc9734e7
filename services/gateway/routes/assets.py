"""Public routes served by the assets service: upload, direct upload, metadata, bytes, delete.

A dedupe hit (the same bytes again from the same owner) answers 200 with the existing asset; a new
asset answers 201. Bytes are streamed both ways (services/gateway/uploads.py).
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from services.gateway.auth import require_user
from services.gateway.http import call, json_response
from services.gateway.openapi import BEARER, ID_PARAMETER, problem
from services.gateway.uploads import (
    TooLarge,
    check_upload_request,
    http_client_ctx,
    relay_upload,
    stream_from_store,
    too_large,
)
from shared.errors import AtelierError
from shared.logging import get_logger

log = get_logger(__name__)
SERVICE = "assets"
COMPLETE_TIMEOUT_S = 120.0  # decoding and thumbnailing a 40 MP image, plus store round trips
UPLOAD_LIMIT = web.AppKey("upload_max_bytes", int)
PUBLIC_CACHE = "public, max-age=300"  # visibility can be withdrawn: shared caches re-check soon
PRIVATE_CACHE = "private, max-age=31536000, immutable"  # an id's bytes never change


VIEW_FIELDS = ("id", "sha256", "content_type", "width", "height", "size", "kind", "palette", "created_at")


def asset_view(asset: dict[str, Any]) -> dict[str, Any]:
    base = f"/v1/assets/{asset['id']}"
    view: dict[str, Any] = {k: asset[k] for k in VIEW_FIELDS if k in asset}
    view["urls"] = {"content": f"{base}/content", "thumbnail": f"{base}/thumbnail"}
    return view


async def upload(request: web.Request) -> web.Response:
    require_user(request)
    limit = request.app[UPLOAD_LIMIT]
    check_upload_request(request, limit)
    ticket = await call(request, SERVICE, "uploads.create", {"direct": False})
    began = time.perf_counter()
    try:
        size = await relay_upload(request, ticket["upload_url"], limit)
    except TooLarge:
        await _abort(request, ticket["asset_id"])
        raise too_large(limit) from None
    except BaseException:
        await _abort(request, ticket["asset_id"])
        raise
    relayed = time.perf_counter()
    result = await call(request, SERVICE, "uploads.complete", {"asset_id": ticket["asset_id"]},
                        timeout=COMPLETE_TIMEOUT_S)
    finished = time.perf_counter()
    log.info("gateway.upload.relayed", asset_id=result["asset"]["id"], size=size,
             relay_ms=round((relayed - began) * 1000), created=result["created"])
    timing = f"relay;dur={(relayed - began) * 1000:.1f}, finalize;dur={(finished - relayed) * 1000:.1f}"
    view = asset_view(result["asset"])
    return json_response(view, status=201 if result["created"] else 200,
                         headers={"Location": f"/v1/assets/{view['id']}", "Server-Timing": timing})


async def _abort(request: web.Request, asset_id: str) -> None:
    """Best effort: the staged bytes (if any reached the store) are removed now, not by the sweeper."""
    try:
        await call(request, SERVICE, "uploads.abort", {"asset_id": asset_id}, timeout=5.0)
    except AtelierError as exc:
        log.warning("gateway.upload.abort_failed", asset_id=asset_id, error=exc.detail)


async def create_direct_upload(request: web.Request) -> web.Response:
    require_user(request)
    if request.can_read_body and request.content_type == "application/json":
        await request.read()  # an empty JSON object is allowed; nothing in it is used yet
    ticket = await call(request, SERVICE, "uploads.create", {"direct": True})
    return json_response({k: ticket[k] for k in ("asset_id", "upload_url", "method", "expires_at", "max_bytes")},
                         status=201)


async def complete_direct_upload(request: web.Request) -> web.Response:
    require_user(request)
    result = await call(request, SERVICE, "uploads.complete", {"asset_id": request.match_info["id"]},
                        timeout=COMPLETE_TIMEOUT_S)
    view = asset_view(result["asset"])
    return json_response(view, status=201 if result["created"] else 200,
                         headers={"Location": f"/v1/assets/{view['id']}"})


async def get_asset(request: web.Request) -> web.Response:
    asset = await call(request, SERVICE, "get", {"id": request.match_info["id"]})
    cache = PUBLIC_CACHE if asset.get("public") else "private, no-cache"
    return json_response(asset_view(asset), headers={"Cache-Control": cache})


async def delete_asset(request: web.Request) -> web.Response:
    require_user(request)
    await call(request, SERVICE, "delete", {"id": request.match_info["id"]})
    return web.Response(status=204)


async def stream_bytes(request: web.Request, variant: str) -> web.StreamResponse:
    info = await call(request, SERVICE, "content_url", {"id": request.match_info["id"], "variant": variant})
    cache = PUBLIC_CACHE if info["public"] else PRIVATE_CACHE
    return await stream_from_store(request, info, cache_control=cache)


async def content(request: web.Request) -> web.StreamResponse:
    return await stream_bytes(request, "content")


async def thumbnail(request: web.Request) -> web.StreamResponse:
    return await stream_bytes(request, "thumbnail")


def setup(app: web.Application, settings: object = None) -> None:
    """Register this module's routes on the gateway."""
    app[UPLOAD_LIMIT] = settings.upload_max_bytes  # type: ignore[attr-defined]
    app.cleanup_ctx.append(http_client_ctx)
    app.router.add_post("/v1/assets", upload)
    app.router.add_post("/v1/assets/uploads", create_direct_upload)
    app.router.add_post("/v1/assets/{id}/complete", complete_direct_upload)
    app.router.add_get("/v1/assets/{id}", get_asset)
    app.router.add_delete("/v1/assets/{id}", delete_asset)
    app.router.add_get("/v1/assets/{id}/content", content)
    app.router.add_get("/v1/assets/{id}/thumbnail", thumbnail)


# -- OpenAPI -------------------------------------------------------------------------------------

_ASSET = {
    "type": "object", "required": ["id", "sha256", "content_type", "width", "height", "size", "urls"],
    "properties": {
        "id": {"type": "string"}, "sha256": {"type": "string"},
        "content_type": {"type": "string", "enum": ["image/png", "image/jpeg", "image/webp"]},
        "width": {"type": "integer"}, "height": {"type": "integer"}, "size": {"type": "integer"},
        "kind": {"type": "string", "enum": ["upload", "generated", "sample"]},
        "palette": {"type": "array", "items": {"type": "string", "pattern": "^#[0-9a-f]{6}$"}},
        "created_at": {"type": "string", "format": "date-time"},
        "urls": {"type": "object", "properties": {"content": {"type": "string"}, "thumbnail": {"type": "string"}}},
    },
}
_ASSET_JSON = {"application/json": {"schema": _ASSET}}
_ID = [ID_PARAMETER]
_IMAGE = {"schema": {"type": "string", "format": "binary"}}
_BYTES = {
    "parameters": [*_ID,
                   {"name": "Range", "in": "header", "required": False, "schema": {"type": "string"}},
                   {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}}],
    "responses": {
        "200": {"description": "the bytes, streamed", "content": {"image/*": _IMAGE}},
        "206": {"description": "the requested byte range", "content": {"image/*": _IMAGE}},
        "304": {"description": "not modified (If-None-Match matched the ETag)"},
        "404": problem("unknown, or not visible to the caller"),
        "416": {"description": "range not satisfiable"},
    },
}

OPENAPI_PATHS: dict[str, Any] = {
    "/v1/assets": {"post": {
        "summary": "Upload an image (PNG, JPEG or WebP, judged by content; metadata such as EXIF GPS stripped)",
        "operationId": "uploadAsset", "tags": ["assets"], "security": BEARER,
        "requestBody": {"required": True, "content": {
            "image/png": _IMAGE, "image/jpeg": _IMAGE, "image/webp": _IMAGE,
            "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                               "properties": {"file": {"type": "string", "format": "binary"}}}},
        }},
        "responses": {
            "201": {"description": "stored", "content": _ASSET_JSON},
            "200": {"description": "the same bytes were uploaded before: the existing asset", "content": _ASSET_JSON},
            "401": problem("no or bad token"),
            "413": problem("larger than the upload limit"),
            "415": problem("not a PNG, JPEG or WebP image (by content)"),
            "422": problem("truncated, corrupt, polyglot, too many pixels, or empty"),
        },
    }},
    "/v1/assets/uploads": {"post": {
        "summary": "Start a direct upload: PUT the file to upload_url, then POST /v1/assets/{id}/complete",
        "operationId": "createDirectUpload", "tags": ["assets"], "security": BEARER,
        "responses": {
            "201": {"description": "a presigned URL", "content": {"application/json": {"schema": {
                "type": "object", "required": ["asset_id", "upload_url", "expires_at"],
                "properties": {"asset_id": {"type": "string"}, "upload_url": {"type": "string"},
                               "method": {"type": "string"}, "max_bytes": {"type": "integer"},
                               "expires_at": {"type": "string", "format": "date-time"}}}}}},
            "401": problem("no or bad token"),
        },
    }},
    "/v1/assets/{id}/complete": {"post": {
        "summary": "Validate and store a direct upload, like POST /v1/assets",
        "operationId": "completeDirectUpload", "tags": ["assets"], "security": BEARER, "parameters": _ID,
        "responses": {
            "201": {"description": "stored", "content": _ASSET_JSON},
            "200": {"description": "already stored (same bytes, or complete called twice)", "content": _ASSET_JSON},
            "404": problem("nothing was uploaded for this id"),
            "413": problem("larger than the direct upload limit"),
            "415": problem("not a PNG, JPEG or WebP image"),
            "422": problem("truncated, corrupt, polyglot or too many pixels"),
        },
    }},
    "/v1/assets/{id}": {
        "get": {"summary": "An asset's metadata (owner, or anyone once a visible work shows it)",
                "operationId": "getAsset", "tags": ["assets"], "parameters": _ID,
                "responses": {"200": {"description": "the asset", "content": _ASSET_JSON},
                              "404": problem("unknown, or not visible to the caller")}},
        "delete": {"summary": "Delete an asset no work uses (object, thumbnail and record)",
                   "operationId": "deleteAsset", "tags": ["assets"], "security": BEARER, "parameters": _ID,
                   "responses": {"204": {"description": "deleted"}, "401": problem("no or bad token"),
                                 "403": problem("not the owner"), "404": problem("unknown or not visible"),
                                 "409": problem("a work uses the asset"),
                                 "503": problem("whether a work uses it cannot be checked right now")}},
    },
    "/v1/assets/{id}/content": {"get": {"summary": "The stored image, streamed (ETag, Range, conditional GET)",
                                        "operationId": "getAssetContent", "tags": ["assets"], **_BYTES}},
    "/v1/assets/{id}/thumbnail": {"get": {"summary": "A WebP thumbnail (256 px box), streamed",
                                          "operationId": "getAssetThumbnail", "tags": ["assets"], **_BYTES}},
}
