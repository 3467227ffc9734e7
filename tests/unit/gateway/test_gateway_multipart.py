"""Malformed multipart upload bodies are 400 (two files 422), never a 500: the gateway's reader of
the `file` part against a real aiohttp server."""

from __future__ import annotations

import pytest
from aiohttp import web

from services.gateway.uploads import _multipart_file
from shared.errors import AtelierError

B = "XyZ"


def part(name: str, data: str) -> str:
    return f'--{B}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{data}\r\n'


async def read_file(request: web.Request) -> web.Response:
    try:
        size = 0
        async for chunk in await _multipart_file(request):
            size += len(chunk)
    except AtelierError as exc:
        return web.json_response(exc.to_problem(), status=exc.status)
    return web.json_response({"size": size})


@pytest.mark.parametrize(("body", "status"), [
    (part("file", "AAAA") + part("note", "x") + f"--{B}--\r\n", 200),
    (part("file", "AAA") + part("file", "BBB") + f"--{B}--\r\n", 422),  # two files: not silently the first
    (part("note", "x") + f"--{B}--\r\n", 422),  # no file part
    (f'--{B}\r\nContent-Disposition: form-data; name="file"\r\n\r\nAAAA', 400),  # no closing boundary
    (part("file", "AAAA").replace(B, "other") + "--other--\r\n", 400),  # wrong boundary
    (part("fi\x01le", "AAAA") + f"--{B}--\r\n", 400),  # a control character in a field name
    ("\x00\xff not multipart at all", 400),
])
async def test_multipart_framing(aiohttp_client, body: str, status: int) -> None:  # type: ignore[no-untyped-def]
    app = web.Application()
    app.router.add_post("/", read_file)
    client = await aiohttp_client(app)
    resp = await client.post("/", data=body.encode("latin-1"),
                             headers={"Content-Type": f"multipart/form-data; boundary={B}"})
    assert resp.status == status, await resp.text()
    if status == 200:
        assert (await resp.json())["size"] == 4


async def test_a_multipart_type_without_boundary_is_a_400(aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    app = web.Application()
    app.router.add_post("/", read_file)
    client = await aiohttp_client(app)
    resp = await client.post("/", data=b"x", headers={"Content-Type": "multipart/form-data"})
    assert resp.status == 400
