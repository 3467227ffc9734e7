"""The smaller findings of the security review, through the gateway of the live stack:
a public collection's work_count does not count a private work it hides; a work made private is
not replayed to others over the WebSocket; a bad cursor on /v1/models is a 400; /metrics and
/v1/status are not on the public port (they are on the gateway's internal site)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp

from tests.support.members import Member, sign_up


async def test_a_public_collection_counts_only_the_works_a_viewer_may_see(http: aiohttp.ClientSession) -> None:
    owner, viewer = await sign_up(http), await sign_up(http)
    shown = await owner.publish("Shown", visibility="public")
    hidden = await owner.publish("Hidden", visibility="private")
    collection = await owner.call("POST", "/v1/collections", 201, json={
        "title": "Mixed", "work_ids": [shown["id"], hidden["id"]], "visibility": "public"})
    assert collection["work_count"] == 2
    seen = await viewer.call("GET", f"/v1/collections/{collection['id']}", 200)
    assert seen["work_count"] == 1 and [w["id"] for w in seen["works"]] == [shown["id"]]
    listed = await viewer.call("GET", f"/v1/collections?owner={owner.username}", 200)
    assert [c["work_count"] for c in listed["items"]] == [1]
    anonymous = await http.get(f"/v1/collections/{collection['id']}")
    assert (await anonymous.json())["work_count"] == 1
    own = await owner.call("GET", f"/v1/collections?owner={owner.username}", 200)
    assert [c["work_count"] for c in own["items"]] == [2]


async def _subscribe(http: aiohttp.ClientSession, member: Member,
                     since: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Subscribe to `public` (from `since`), return the cursor and the events replayed before
    `subscribed`, and close."""
    async with http.ws_connect("/v1/events", protocols=("atelier.v1", f"bearer.{member.token}")) as ws:
        await ws.send_json({"subscribe": ["public"], **({"since": since} if since else {})})
        replayed: list[dict[str, Any]] = []
        while "subscribed" not in (doc := await ws.receive_json(timeout=15)):
            assert "error" not in doc, doc
            if "specversion" in doc:
                replayed.append(doc)
        return str(doc["sequence"]), replayed


async def test_a_work_made_private_is_not_replayed_to_others(http: aiohttp.ClientSession) -> None:
    artist, viewer = await sign_up(http), await sign_up(http)
    cursor, _ = await _subscribe(http, viewer)
    secret = await artist.publish("Soon private", visibility="public")
    kept = await artist.publish("Still public", visibility="public")
    await artist.call("PATCH", f"/v1/works/{secret['id']}", 200, json={"visibility": "private"})
    deleted = await artist.publish("Soon deleted", visibility="public")
    await artist.call("DELETE", f"/v1/works/{deleted['id']}", 204)
    # The gateway tails the stream: give it a moment to see the change, then resume from before it all.
    deadline = time.monotonic() + 10
    while True:
        _, replayed = await _subscribe(http, viewer, since=cursor)
        ids = [e["data"].get("work_id") for e in replayed]
        if kept["id"] in ids and secret["id"] not in ids and deleted["id"] not in ids:
            break
        assert time.monotonic() < deadline, f"replayed {ids}; {secret['id']} is private, {deleted['id']} deleted"
        await asyncio.sleep(0.3)
    assert kept["id"] in ids  # the replay itself works: the public work is there


async def test_a_bad_models_cursor_is_a_400(http: aiohttp.ClientSession) -> None:
    member = await sign_up(http)
    for cursor in ("nope", "01ARZ3NDEKTSV4RRFFQ69G5FA", "01ARZ3NDEKTSV4RRFFQ69G5FAV!", "x" * 64):
        async with http.get("/v1/models", params={"cursor": cursor}, headers=member.headers) as resp:
            assert resp.status == 400, (cursor, resp.status, await resp.text())
            assert resp.content_type == "application/problem+json"
    assert (await member.call("GET", "/v1/models?cursor=01ARZ3NDEKTSV4RRFFQ69G5FAV", 200))["items"] == []


async def test_metrics_and_status_are_not_on_the_public_port(http: aiohttp.ClientSession) -> None:
    for path in ("/metrics", "/v1/status"):
        async with http.get(path) as resp:
            assert resp.status == 404, path
            assert "atelier_http" not in await resp.text()
    async with http.get("/v1/openapi.json") as resp:
        paths = (await resp.json())["paths"]
    assert "/metrics" not in paths and "/v1/status" not in paths and "/healthz" in paths
    async with http.get("/healthz") as resp:
        assert resp.status == 200


async def test_the_internal_site_serves_metrics_and_status(endpoints, aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    from services.gateway.app import create_app
    from services.gateway.internal_site import INTERNAL_SITE
    from services.gateway.settings import GatewaySettings

    app = await create_app(GatewaySettings(nats_url=endpoints.nats_url,
                                           jwt_public_key_file=endpoints.jwt_public_key_file))
    public = await aiohttp_client(app)
    assert (await public.get("/metrics")).status == 404
    internal = app[INTERNAL_SITE].url
    assert internal is not None and str(app[INTERNAL_SITE].port) not in str(public.make_url("/"))
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{internal}/metrics") as resp:
            assert resp.status == 200 and "atelier_" in await resp.text()
        async with session.get(f"{internal}/v1/status") as resp:
            body = json.loads(await resp.text())
            assert resp.status == 200 and body["nats"] is True and set(body["services"]) >= {"community"}
