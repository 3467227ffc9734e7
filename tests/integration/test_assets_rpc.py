"""The assets service's internal NATS operations (store, describe, read_urls) and its events,
against the real object store, PostgreSQL and JetStream."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import struct
import zlib
from typing import Any

import aiohttp
import asyncpg
import pytest
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import ConsumerConfig, DeliverPolicy

from demo.art import render
from shared.contracts import assets as asset_ops
from shared.contracts.events.envelope import parse_event
from shared.errors import Unprocessable
from shared.ids import new_id
from shared.messaging.rpc import call


def signed_like_png(seed: int) -> bytes:
    """A PNG with an extra ancillary chunk where C2PA keeps its manifest: must survive untouched."""
    buf = io.BytesIO()
    render("waves", seed, 64).save(buf, "PNG")
    png = buf.getvalue()
    body = b"caBX" + b"jumbf manifest store bytes"
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    return png[:-12] + chunk + png[-12:]


async def store(nc: Any, owner_id: str, data: bytes, **extra: Any) -> dict[str, Any]:
    payload = {"owner_id": owner_id, "kind": "generated", "content_type": "image/png",
               "data_b64": base64.b64encode(data).decode(), **extra}
    return (await call(nc, asset_ops.STORE, payload, timeout=10)).model_dump(mode="json")


async def test_store_keeps_generated_bytes_exactly(nc: Any, platform: Any) -> None:
    owner = new_id()
    data = signed_like_png(1)
    asset = await store(nc, owner, data, meta={"generation_id": "g1"})
    assert asset["created"] is True and asset["kind"] == "generated"
    assert asset["sha256"] == hashlib.sha256(data).hexdigest() and asset["size"] == len(data)
    urls = (await call(nc, asset_ops.READ_URLS, {"ids": [asset["id"], "nope"]}, timeout=5)).model_dump()
    assert urls["missing"] == ["nope"]
    async with aiohttp.ClientSession() as http, http.get(urls["urls"][asset["id"]]) as resp:
        assert resp.status == 200 and await resp.read() == data
    again = await store(nc, owner, data)
    assert again["created"] is False and again["id"] == asset["id"]


async def test_describe_in_bulk_with_palettes_and_owner_filter(nc: Any, platform: Any) -> None:
    owner, stranger = new_id(), new_id()
    a = await store(nc, owner, signed_like_png(2))
    b = await store(nc, stranger, signed_like_png(3))
    described = (await call(nc, asset_ops.DESCRIBE, {"ids": [a["id"], b["id"], "missing"]}, timeout=5)).model_dump()
    assert {i["id"] for i in described["items"]} == {a["id"], b["id"]} and described["missing"] == ["missing"]
    item = next(i for i in described["items"] if i["id"] == a["id"])
    assert len(item["palette"]) == 5 and all(c.startswith("#") and len(c) == 7 for c in item["palette"])
    assert (item["width"], item["height"], item["owner_id"]) == (64, 64, owner)
    mine = (await call(nc, asset_ops.DESCRIBE, {"ids": [a["id"], b["id"]], "owner_id": owner}, timeout=5)).model_dump()
    assert [i["id"] for i in mine["items"]] == [a["id"]] and mine["missing"] == [b["id"]]


@pytest.mark.parametrize("data, extra", [
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", {}),
    (signed_like_png(4)[:200], {}),
    (signed_like_png(5), {"content_type": "image/webp"}),  # the bytes are a PNG
])
async def test_store_refuses_what_is_not_a_valid_image(nc: Any, endpoints: Any, platform: Any, data: bytes,
                                                       extra: dict[str, Any]) -> None:
    owner = new_id()
    with pytest.raises(Exception) as caught:
        await store(nc, owner, data, **extra)
    assert getattr(caught.value, "status", None) in (415, 422)
    conn = await asyncpg.connect(endpoints.database_url, timeout=5)
    try:
        assert await conn.fetchval("SELECT count(*) FROM assets.assets WHERE owner_id = $1", owner) == 0
    finally:
        await conn.close()


async def test_store_validates_its_request(nc: Any, platform: Any) -> None:
    with pytest.raises(Unprocessable):
        await call(nc, asset_ops.STORE, {"owner_id": new_id(), "kind": "upload", "data_b64": "AA=="}, timeout=5)
    with pytest.raises(Unprocessable):
        await store(nc, "../escape", signed_like_png(6))


async def test_stored_event_is_published_through_the_outbox(nc: Any, js: Any, platform: Any) -> None:
    # Subscribed before the store, to new events only: by this point of a full run the stream holds
    # thousands of earlier `stored` events, and reading them all could outlast the wait.
    sub = await js.pull_subscribe("assets.asset.stored", stream="ASSETS",
                                  config=ConsumerConfig(deliver_policy=DeliverPolicy.NEW))
    try:
        asset = await store(nc, new_id(), signed_like_png(7))
        async with asyncio.timeout(10):
            while True:
                try:
                    msgs = await sub.fetch(100, timeout=1)
                except NatsTimeoutError:
                    continue  # the relay has not published it yet
                found = [e for e in (parse_event(m.data) for m in msgs) if e.subject == asset["id"]]
                if found:
                    break
        event = found[0]
        assert event.source == "atelier/assets" and event.type == "atelier.assets.asset.stored"
        assert event.data["sha256"] == asset["sha256"] and event.data["kind"] == "generated"
        assert event.data["palette"] == asset["palette"] and len(event.data["palette"]) == 5
    finally:
        await sub.unsubscribe()
