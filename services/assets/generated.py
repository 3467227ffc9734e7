"""`store_generated`: the fast path for images the platform made itself, in batches.

Inference renders, signs and measures every image it stores; decoding it again here only to learn
what the caller already knows cost more CPU than the rest of storing it. So an item brings its
size, sha256 and palette, and this service checks only what is cheap and would catch a mistake:
valid base64, the size limit, a PNG signature and IHDR header whose width and height match the
claim (no pixel is decoded), the pixel limit, and the sha256 of the bytes (about 20 µs for a
64 px image) — the bytes are stored exactly as given. A thumbnail is made (decoding the image)
only where the image is larger than the thumbnail box; otherwise the original serves as its own
thumbnail, with no second object.

A batch is one owner-and-hash lookup, concurrent object writes, and one transaction for all rows
and their `assets.asset.stored` events. Items fail on their own (their outcome carries the
status); a store or database failure fails the whole batch (nothing half-written stays: the
objects this call wrote are removed again).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
import struct
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from PIL import Image

from services.assets import object_keys as keys
from services.assets.events import stored_event
from services.assets.service import AssetService, checked_owner
from services.assets.store import AssetRow, find_by_sha256_many, insert_asset_if_new
from services.assets.thumbnails import encode_thumbnail, make_thumbnail
from shared.contracts.assets import GeneratedImage
from shared.errors import AtelierError, PayloadTooLarge, ServiceUnavailable, Unprocessable
from shared.ids import new_id
from shared.logging import get_logger
from shared.outbox import enqueue_many

log = get_logger(__name__)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
THUMBNAIL_IS_ORIGINAL = "original"  # meta["thumbnail"] of an asset whose thumbnail key is its original


@dataclass(frozen=True)
class Checked:
    owner_id: str
    data: bytes
    sha256: str
    width: int
    height: int
    palette: list[str]
    meta: dict[str, Any]


def check(item: GeneratedImage, *, max_bytes: int, max_pixels: int) -> Checked:
    """The item's bytes, checked without decoding; AtelierError (4xx) says what is wrong."""
    checked_owner(item.owner_id)
    try:
        data = base64.b64decode(item.data_b64, validate=True)
    except (binascii.Error, ValueError):
        raise Unprocessable("data_b64 is not valid base64") from None
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the image is larger than {max_bytes} bytes")
    if len(data) < 33 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise Unprocessable("the bytes are not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    if (width, height) != (item.width, item.height):
        raise Unprocessable(f"the PNG is {width}x{height}, not {item.width}x{item.height}")
    if width * height > max_pixels:
        raise Unprocessable(f"the image has too many pixels (limit {max_pixels:,})")
    if hashlib.sha256(data).hexdigest() != item.sha256:
        raise Unprocessable("the bytes do not match their sha256")
    return Checked(item.owner_id, data, item.sha256, width, height, list(item.palette), dict(item.meta or {}))


def check_all(items: list[GeneratedImage], max_bytes: int, max_pixels: int) -> list[Checked | AtelierError]:
    out: list[Checked | AtelierError] = []
    for item in items:
        try:
            out.append(check(item, max_bytes=max_bytes, max_pixels=max_pixels))
        except AtelierError as exc:
            out.append(exc)
    return out


def thumbnail_bytes(data: bytes, size: int) -> bytes:
    """A WebP thumbnail of a (checked) PNG larger than the thumbnail box."""
    with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
        image.load()
        return encode_thumbnail(make_thumbnail(image, size=size))


Outcome = tuple[AssetRow, bool] | AtelierError  # (the asset, created) or why the item was refused


async def store_generated(assets: AssetService, items: list[GeneratedImage]) -> list[Outcome]:
    """One outcome per item, in order."""
    loop = asyncio.get_running_loop()
    settings = assets.settings
    checked = await loop.run_in_executor(assets._cpu, check_all, items, settings.upload_max_bytes,
                                         settings.max_pixels)
    good = [c for c in checked if isinstance(c, Checked)]
    existing = await find_by_sha256_many(assets.pool, list(dict.fromkeys((c.owner_id, c.sha256) for c in good)))
    fresh: dict[tuple[str, str], tuple[Checked, AssetRow]] = {}
    for c in good:
        pair = (c.owner_id, c.sha256)
        if pair not in existing and pair not in fresh:
            fresh[pair] = (c, _row(c, settings.thumbnail_size))
    big = [(c, row) for c, row in fresh.values() if row.thumbnail_key != row.object_key]
    thumbs = await asyncio.gather(*(loop.run_in_executor(assets._cpu, thumbnail_bytes, c.data,
                                                         settings.thumbnail_size) for c, _ in big))
    for (c, row), thumb in zip(big, thumbs, strict=True):
        fresh[(c.owner_id, c.sha256)] = (c, replace(row, meta={**row.meta, "thumbnail_bytes": len(thumb)}))
    big = [fresh[(c.owner_id, c.sha256)] for c, _ in big]
    rows = [row for _, row in fresh.values()]
    try:
        await asyncio.gather(
            *(assets.objects.write(row.object_key, c.data, "image/png") for c, row in fresh.values()),
            *(assets.objects.write(row.thumbnail_key, thumb, "image/webp") for (_, row), thumb in zip(big, thumbs,
                                                                                                  strict=True)))
        inserted: list[AssetRow] = []
        async with assets.pool.acquire() as conn, conn.transaction():
            for row in rows:
                if await insert_asset_if_new(conn, row):
                    inserted.append(row)
            await enqueue_many(conn, "assets", [stored_event(row) for row in inserted])
    except BaseException:
        await asyncio.shield(asyncio.gather(*(assets._discard(row) for row in rows)))
        raise
    created = {row.id for row in inserted}
    lost = [row for row in rows if row.id not in created]  # a concurrent twin won: answer it, drop ours
    if lost:
        await asyncio.gather(*(assets._discard(row) for row in lost))
        existing.update(await find_by_sha256_many(assets.pool, [(r.owner_id, r.sha256) for r in lost]))
    winners = {(row.owner_id, row.sha256): row for row in inserted}
    outcomes: list[Outcome] = []
    for item in checked:
        if not isinstance(item, Checked):
            outcomes.append(item)
            continue
        pair = (item.owner_id, item.sha256)
        winner = winners.get(pair)
        if winner is not None:
            outcomes.append((winner, fresh[pair][0] is item))
        elif pair in existing:
            outcomes.append((existing[pair], False))
        else:  # the twin that won was deleted again at once: rare; the caller retries
            outcomes.append(ServiceUnavailable("the image was stored and removed concurrently; try again"))
    log.info("assets.generated.stored", items=len(items), created=len(inserted), thumbnails=len(big),
             refused=len(checked) - len(good))
    return outcomes


def _row(c: Checked, thumbnail_size: int) -> AssetRow:
    asset_id = new_id()
    own_thumbnail = max(c.width, c.height) <= thumbnail_size
    original = keys.original_key(c.owner_id, asset_id)
    return AssetRow(
        id=asset_id, owner_id=c.owner_id, kind="generated", sha256=c.sha256, content_type="image/png",
        width=c.width, height=c.height, size=len(c.data), orientation=1, palette=c.palette,
        object_key=original, thumbnail_key=original if own_thumbnail else keys.thumbnail_key(c.owner_id, asset_id),
        meta={**c.meta, "frames": 1, "removed_metadata": [],
              **({"thumbnail": THUMBNAIL_IS_ORIGINAL, "thumbnail_bytes": len(c.data)} if own_thumbnail else {})},
        created_at=datetime.now(UTC),
    )
