"""NATS endpoints of the assets service (`svc.assets.<operation>`).

Gateway-facing (act as the calling user): `uploads.create`, `uploads.complete`, `uploads.abort`,
`get`, `content_url`, `delete`. Internal (trainer, inference): `store`, `describe`, `read_urls`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.assets.service import AssetService
from services.assets.store import get_assets
from services.assets.thumbnails import THUMBNAIL_TYPE
from shared.messaging.rpc import RpcRequest, RpcServer

ImageType = Literal["image/png", "image/jpeg", "image/webp"]
CONTENT_URL_EXPIRY_S = 60  # the gateway fetches at once; a short life limits a leaked URL


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UploadCreate(_Body):
    direct: bool = False  # True: the URL goes to the client (public endpoint, larger limit)


class UploadRef(_Body):
    asset_id: str = Field(min_length=1, max_length=64)


class AssetRef(_Body):
    id: str = Field(min_length=1, max_length=64)


class ContentRef(AssetRef):
    variant: Literal["content", "thumbnail"] = "content"


class DescribeRequest(_Body):
    ids: list[str] = Field(max_length=500)
    owner_id: str | None = None


class ReadUrlsRequest(_Body):
    ids: list[str] = Field(max_length=2000)
    expires_s: int | None = Field(None, ge=10, le=24 * 3600)


class StoreRequest(_Body):
    owner_id: str = Field(min_length=1, max_length=64)
    kind: Literal["generated", "sample"]
    content_type: ImageType = "image/png"
    data_b64: str = Field(min_length=1)
    meta: dict[str, Any] | None = None


def register(rpc: RpcServer, assets: AssetService) -> None:
    @rpc.endpoint("uploads.create")
    async def create_upload(req: RpcRequest) -> dict[str, Any]:
        body = req.parse(UploadCreate)
        return assets.create_upload(req.require_actor(), direct=body.direct)

    @rpc.endpoint("uploads.complete")
    async def complete_upload(req: RpcRequest) -> dict[str, Any]:
        body = req.parse(UploadRef)
        row, created = await assets.complete_upload(req.require_actor(), body.asset_id)
        return {"asset": row.describe(), "created": created}

    @rpc.endpoint("uploads.abort")
    async def abort_upload(req: RpcRequest) -> None:
        await assets.abort_upload(req.require_actor(), req.parse(UploadRef).asset_id)

    @rpc.endpoint("get")
    async def get(req: RpcRequest) -> dict[str, Any]:
        row, public = await assets.readable(req.actor_id, req.parse(AssetRef).id)
        return {**row.describe(), "public": public}

    @rpc.endpoint("content_url")
    async def content_url(req: RpcRequest) -> dict[str, Any]:
        """Where the gateway streams the bytes from, and the headers it answers with."""
        body = req.parse(ContentRef)
        row, public = await assets.readable(req.actor_id, body.id)
        thumb = body.variant == "thumbnail"
        return {
            "url": assets.objects.presign_get(row.thumbnail_key if thumb else row.object_key, CONTENT_URL_EXPIRY_S),
            "content_type": THUMBNAIL_TYPE if thumb else row.content_type,
            # The bytes behind an id never change: the content hash is a strong validator.
            "etag": f'"{row.sha256}-t{assets.settings.thumbnail_size}"' if thumb else f'"{row.sha256}"',
            "public": public,
            "size": row.meta.get("thumbnail_bytes") if thumb else row.size,
            "filename": f"{row.id}.{'webp' if thumb else row.content_type.split('/')[1]}",
        }

    @rpc.endpoint("delete")
    async def delete(req: RpcRequest) -> None:
        await assets.delete(req.require_actor(), req.parse(AssetRef).id)

    @rpc.endpoint("store")
    async def store(req: RpcRequest) -> dict[str, Any]:
        body = req.parse(StoreRequest)
        row, created = await assets.store_exact(body.owner_id, body.kind, body.content_type, body.data_b64,
                                                body.meta or {})
        return {**row.describe(), "created": created}

    @rpc.endpoint("describe")
    async def describe(req: RpcRequest) -> dict[str, Any]:
        body = req.parse(DescribeRequest)
        wanted = list(dict.fromkeys(body.ids))
        rows = [r for r in await get_assets(assets.pool, wanted) if body.owner_id in (None, r.owner_id)]
        found = {r.id for r in rows}
        return {"items": [r.describe() for r in rows], "missing": [i for i in wanted if i not in found]}

    @rpc.endpoint("read_urls")
    async def read_urls(req: RpcRequest) -> dict[str, Any]:
        body = req.parse(ReadUrlsRequest)
        wanted = list(dict.fromkeys(body.ids))
        expiry = body.expires_s or assets.settings.presign_expiry_s
        rows = await get_assets(assets.pool, wanted)
        found = {r.id for r in rows}
        return {"urls": {r.id: assets.objects.presign_get(r.object_key, expiry) for r in rows},
                "missing": [i for i in wanted if i not in found]}
