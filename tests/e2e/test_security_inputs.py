"""Inputs that cannot hurt: a tiny body nested deep is refused at once and the gateway stays up."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from tests.support.members import sign_up

NESTED = ('{"login": ' + "[" * 600 + "]" * 600 + ', "password": "x"}').encode()  # about 1.2 KB


async def test_a_deeply_nested_body_is_a_400_in_milliseconds(http: aiohttp.ClientSession) -> None:
    assert len(NESTED) < 1300
    started = time.perf_counter()
    async with http.post("/v1/auth/login", data=NESTED, headers={"Content-Type": "application/json"}) as resp:
        elapsed = time.perf_counter() - started
        problem = await resp.json(content_type=None)
    assert resp.status == 400 and resp.content_type == "application/problem+json"
    assert "nested deeper" in problem["detail"]
    assert elapsed < 1.0, f"took {elapsed:.3f} s"


async def test_the_gateway_stays_up_while_a_hundred_arrive(http: aiohttp.ClientSession) -> None:
    async def attack(i: int) -> int:
        headers = {"Content-Type": "application/json", "X-Forwarded-For": f"198.51.100.{i % 250}"}
        async with http.post("/v1/auth/login", data=NESTED, headers=headers) as resp:
            await resp.read()
            return resp.status

    async def health() -> list[float]:
        waits = []
        for _ in range(10):
            started = time.perf_counter()
            async with http.get("/healthz") as resp:
                assert resp.status == 200
            waits.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
        return waits

    statuses, waits = await asyncio.gather(asyncio.gather(*(attack(i) for i in range(100))), health())
    assert set(statuses) == {400}, sorted(set(statuses))
    assert max(waits) < 2.0, f"/healthz took up to {max(waits):.2f} s during the flood"
    async with http.get("/healthz") as resp:
        assert resp.status == 200


async def test_a_deeply_nested_websocket_frame_is_an_error_frame_and_the_socket_stays(
        http: aiohttp.ClientSession) -> None:
    member = await sign_up(http, "in_")
    async with http.ws_connect("/v1/events", protocols=("atelier.v1", f"bearer.{member.token}")) as ws:
        await ws.send_str('{"ping": ' + "[" * 30_000 + "]" * 30_000 + "}")  # 60 KB, under the frame limit
        refused = await ws.receive_json(timeout=5)
        assert refused["error"]["code"] == "bad-json" and "nested deeper" in refused["error"]["message"]
        await ws.send_json({"ping": [[["fine"]]]})
        assert await ws.receive_json(timeout=5) == {"pong": [[["fine"]]]}
