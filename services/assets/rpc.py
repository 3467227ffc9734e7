"""Handlers of the assets contract (`shared.contracts.assets`): one per declared operation."""

from __future__ import annotations

from services.assets import similarity
from services.assets.generated import THUMBNAIL_IS_ORIGINAL, store_generated
from services.assets.service import AssetService
from services.assets.store import AssetRow, get_assets, owned_assets
from services.assets.thumbnails import THUMBNAIL_TYPE
from shared.contracts import assets as a
from shared.errors import AtelierError
from shared.messaging.rpc import Call, RpcServer

CONTENT_URL_EXPIRY_S = 60  # the gateway fetches at once; a short life limits a leaked URL


def asset_view(row: AssetRow) -> a.AssetView:
    """What clients see of an asset: its metadata and where its bytes are (through the gateway)."""
    base = f"/v1/assets/{row.id}"
    fields = _record_fields(row)
    del fields["owner_id"], fields["orientation"]
    return a.AssetView.model_validate({**fields, "urls": {"content": f"{base}/content",
                                                          "thumbnail": f"{base}/thumbnail"}})


def asset_record(row: AssetRow) -> a.AssetRecord:
    """What other services see of an asset (with its owner)."""
    declared = (row.meta or {}).get("c2pa")
    return a.AssetRecord.model_validate({**_record_fields(row), "declared": declared})


def _record_fields(row: AssetRow) -> dict[str, object]:
    return {"id": row.id, "owner_id": row.owner_id, "kind": row.kind, "sha256": row.sha256,
            "content_type": row.content_type, "width": row.width, "height": row.height, "size": row.size,
            "orientation": row.orientation, "palette": row.palette, "created_at": row.created_at}


def register(rpc: RpcServer, assets: AssetService) -> None:
    async def create_upload(req: a.UploadCreate, call: Call) -> a.UploadTicket:
        return assets.create_upload(call.actor, direct=req.direct)

    async def complete_upload(req: a.UploadRef, call: Call) -> a.UploadCompleted:
        row, created = await assets.complete_upload(call.actor, req.asset_id)
        return a.UploadCompleted(asset=asset_view(row), created=created)

    async def abort_upload(req: a.UploadRef, call: Call) -> None:
        await assets.abort_upload(call.actor, req.asset_id)

    async def get(req: a.AssetRef, call: Call) -> a.AssetDetails:
        row, public = await assets.readable(call.actor_id, req.id)
        return a.AssetDetails(**asset_view(row).model_dump(), public=public)

    async def content_url(req: a.AssetContentRef, call: Call) -> a.AssetContentUrl:
        row, public = await assets.readable(call.actor_id, req.id)
        # A generated image no larger than the thumbnail box is its own thumbnail (no second object).
        thumb = req.variant == "thumbnail" and row.meta.get("thumbnail") != THUMBNAIL_IS_ORIGINAL
        size = row.meta.get("thumbnail_bytes") if thumb else row.size
        return a.AssetContentUrl(
            url=assets.objects.presign_get(row.thumbnail_key if thumb else row.object_key, CONTENT_URL_EXPIRY_S),
            content_type=THUMBNAIL_TYPE if thumb else row.content_type,
            # The bytes behind an id never change: the content hash is a strong validator.
            etag=f'"{row.sha256}-t{assets.settings.thumbnail_size}"' if thumb else f'"{row.sha256}"',
            public=public,
            size=size if isinstance(size, int) else None,
            filename=f"{row.id}.{'webp' if thumb else row.content_type.split('/')[1]}",
        )

    async def delete(req: a.AssetRef, call: Call) -> None:
        await assets.delete(call.actor, req.id)

    async def store(req: a.AssetStoreRequest, call: Call) -> a.StoredAsset:
        row, created = await assets.store_exact(req.owner_id, req.kind, req.content_type, req.data_b64,
                                                req.meta or {})
        return a.StoredAsset.model_validate({**_record_fields(row), "created": created})

    async def store_batch(req: a.GeneratedStoreRequest, call: Call) -> a.GeneratedStored:
        outcomes = await store_generated(assets, req.items)
        return a.GeneratedStored(items=[
            a.StoreOutcome(asset=None, status=o.status, detail=o.detail) if isinstance(o, AtelierError)
            else a.StoreOutcome(asset=a.StoredAsset.model_validate({**_record_fields(o[0]), "created": o[1]}),
                                status=None, detail=None)
            for o in outcomes])

    async def describe(req: a.AssetDescribeRequest, call: Call) -> a.AssetDescription:
        wanted = list(dict.fromkeys(req.ids))
        rows = [r for r in await get_assets(assets.pool, wanted) if req.owner_id in (None, r.owner_id)]
        found = {r.id for r in rows}
        originals = await similarity.originals_by_asset(assets.pool, [r.id for r in rows if r.kind == "upload"])
        return a.AssetDescription(
            items=[asset_record(r).model_copy(update={"near_duplicate_of": originals.get(r.id, [])}) for r in rows],
            missing=[i for i in wanted if i not in found])

    async def read_urls(req: a.AssetReadUrlsRequest, call: Call) -> a.AssetReadUrls:
        wanted = list(dict.fromkeys(req.ids))
        expiry = req.expires_s or assets.settings.presign_expiry_s
        rows = await get_assets(assets.pool, wanted)
        found = {r.id for r in rows}
        return a.AssetReadUrls(urls={r.id: assets.objects.presign_get(r.object_key, expiry) for r in rows},
                               missing=[i for i in wanted if i not in found])

    async def owned(req: a.OwnedAssetsQuery, call: Call) -> a.OwnedAssets:
        rows = await owned_assets(assets.pool, call.actor, req.after, req.limit + 1)
        more = len(rows) > req.limit
        rows = rows[:req.limit]
        return a.OwnedAssets(items=[asset_record(r) for r in rows], next_after=rows[-1].id if more else None)

    async def possible_copies(req: a.PossibleCopiesQuery, call: Call) -> a.PossibleCopies:
        return await similarity.possible_copies(assets.pool, call.actor, req)

    rpc.serve(a.UPLOADS_CREATE, create_upload)
    rpc.serve(a.POSSIBLE_COPIES, possible_copies)
    rpc.serve(a.OWNED, owned)
    rpc.serve(a.UPLOADS_COMPLETE, complete_upload)
    rpc.serve(a.UPLOADS_ABORT, abort_upload)
    rpc.serve(a.GET, get)
    rpc.serve(a.CONTENT_URL, content_url)
    rpc.serve(a.DELETE, delete)
    rpc.serve(a.STORE, store)
    rpc.serve(a.STORE_GENERATED, store_batch)
    rpc.serve(a.DESCRIBE, describe)
    rpc.serve(a.READ_URLS, read_urls)
