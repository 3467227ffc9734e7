"""Requests aiohttp cannot parse get a problem document (414/431/400), not its text/plain page."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from shared.web import create_base_app


async def raw_exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.fixture
async def port(unused_tcp_port: int):  # type: ignore[no-untyped-def]
    app = create_base_app()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", unused_tcp_port)
    await site.start()
    yield unused_tcp_port
    await runner.cleanup()


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(300)) + b"\r\n", 431),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\x01: v\r\n\r\n", 400),
])
async def test_unparseable_requests_get_problem_json(port: int, request_bytes: bytes, status: int) -> None:
    got, headers, body = await raw_exchange(port, request_bytes)
    assert got == status
    assert headers["content-type"].startswith("application/problem+json")
    doc = json.loads(body)
    assert doc["status"] == status and doc["title"] and doc["type"].startswith("https://")


async def test_a_normal_request_still_works(port: int) -> None:
    got, _, body = await raw_exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert got == 200 and json.loads(body) == {"status": "ok"}
