"""Public routes served by the assets service: upload, direct upload, metadata, bytes, delete.

The table holds what the gateway only forwards; bodies that stream (the upload, the two byte
downloads) and `complete` (201 or 200, from the answer's `created`) have named handlers in
services/gateway/uploads.py and services/gateway/downloads.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from services.gateway import downloads, quotas, uploads
from services.gateway.openapi import BEARER, Schemas, problem, success_doc
from services.gateway.routing import Route, add_routes
from services.gateway.settings import GatewaySettings
from services.gateway.store_http import http_client_ctx
from shared.contracts import assets as a

TAG = "assets"


def cache_headers(answer: Mapping[str, Any]) -> dict[str, str]:
    """Metadata of an asset shown by a visible work may be cached by anyone, briefly."""
    return {"Cache-Control": downloads.PUBLIC_CACHE if answer.get("public") else "private, no-cache"}


ROUTES = [
    Route("POST", "/v1/assets/uploads", a.UPLOADS_CREATE, status=201, around=quotas.spend_upload,
          problems=(503,)),
    Route("GET", "/v1/assets/{id}", a.GET, headers=cache_headers),
    Route("DELETE", "/v1/assets/{id}", a.DELETE, status=204),
    Route("GET", "/v1/me/possible-copies", a.POSSIBLE_COPIES, query=a.PossibleCopiesQuery),
]


def setup(app: web.Application, settings: GatewaySettings) -> None:
    """Register this module's routes on the gateway."""
    app[uploads.UPLOAD_LIMIT] = settings.upload_max_bytes
    app.cleanup_ctx.append(http_client_ctx)
    add_routes(app, ROUTES)
    app.router.add_post("/v1/assets", uploads.upload)
    app.router.add_post("/v1/assets/{id}/complete", uploads.complete_direct_upload)
    app.router.add_get("/v1/assets/{id}/content", downloads.content)
    app.router.add_get("/v1/assets/{id}/thumbnail", downloads.thumbnail)


# -- OpenAPI of the named handlers -----------------------------------------------------------------

_IMAGE = {"schema": {"type": "string", "format": "binary"}}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
       "description": a.AssetRef.model_fields["id"].description}


def _stored(schemas: Schemas, again: str) -> dict[str, Any]:
    return {"201": success_doc(201, a.AssetView, schemas, "stored"),
            "200": success_doc(200, a.AssetView, schemas, again)}


def _bytes(summary: str, operation_id: str) -> dict[str, Any]:
    return {
        "summary": summary, "operationId": operation_id,
        "parameters": [
            _ID,
            {"name": "Range", "in": "header", "required": False, "schema": {"type": "string"},
             "description": "One byte range (`bytes=0-1023`, `bytes=-500`); others get the whole file"},
            {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
             "description": "ETags the client holds: a match answers 304"},
        ],
        "responses": {
            "200": {"description": "the bytes, streamed", "content": {"image/*": _IMAGE}},
            "206": {"description": "the requested byte range", "content": {"image/*": _IMAGE}},
            "304": {"description": "not modified (If-None-Match matched the ETag)"},
            "401": problem("a token was sent but is not valid"),
            "404": problem("unknown, or not visible to the caller"),
            "416": {"description": "range not satisfiable"},
            "503": problem("the object store is not reachable"),
        },
        "security": [*BEARER, {}],
    }


def streamed_docs(schemas: Schemas) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        ("post", "/v1/assets"): {
            "summary": "Upload an image (PNG, JPEG or WebP, judged by content; metadata such as EXIF GPS stripped)",
            "operationId": "uploadAsset", "security": BEARER,
            "requestBody": {"required": True, "content": {
                "image/png": _IMAGE, "image/jpeg": _IMAGE, "image/webp": _IMAGE,
                "multipart/form-data": {"schema": {"type": "object", "required": [uploads.MULTIPART_FIELD],
                                                   "properties": {uploads.MULTIPART_FIELD: {
                                                       "type": "string", "format": "binary"}}}},
            }},
            "responses": {
                **_stored(schemas, "the same bytes were uploaded before: the existing asset"),
                "401": problem("no or bad token"),
                "413": problem("larger than the upload limit"),
                "415": problem("not a PNG, JPEG or WebP image (by content)"),
                "422": problem("truncated, corrupt, polyglot, too many pixels, or empty"),
                "503": problem("the object store or the assets service is unavailable"),
            },
        },
        ("post", "/v1/assets/{id}/complete"): {
            "summary": "Validate and store a direct upload, like POST /v1/assets",
            "operationId": "completeDirectUpload", "security": BEARER,
            "parameters": [{**_ID, "description": a.UploadRef.model_fields["asset_id"].description}],
            "responses": {
                **_stored(schemas, "already stored (same bytes, or complete called twice)"),
                "401": problem("no or bad token"),
                "404": problem("nothing was uploaded for this id"),
                "413": problem("larger than the direct upload limit"),
                "415": problem("not a PNG, JPEG or WebP image"),
                "422": problem("truncated, corrupt, polyglot or too many pixels"),
            },
        },
        ("get", "/v1/assets/{id}/content"): _bytes("The stored image, streamed (ETag, Range, conditional GET)",
                                                  "getAssetContent"),
        ("get", "/v1/assets/{id}/thumbnail"): _bytes("A WebP thumbnail (256 px box), streamed; a generated "
                                                    "image no larger than the box is its own thumbnail",
                                                    "getAssetThumbnail"),
    }
