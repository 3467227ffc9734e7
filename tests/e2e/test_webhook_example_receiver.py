"""examples/webhook_receiver.py against the platform: it verifies and prints a like and a test
event delivered by the webhooks service, refuses a forged request, and prints a retried delivery
(same `webhook-id`) only once."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aiohttp

from deploy.local.procs import free_port
from tests.support.members import sign_up

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "webhook_receiver.py"


async def test_the_example_receiver_verifies_and_prints_deliveries(http: aiohttp.ClientSession) -> None:
    artist, fan = await sign_up(http, "ex_"), await sign_up(http, "ex_")
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks/atelier"
    hook = await artist.call("POST", "/v1/webhooks", 201, json={"url": url, "event_types": ["community.work.liked"]})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLE), "--port", str(port), "--secret", hook["secret"], "--max", "2",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert proc.stderr is not None and proc.stdout is not None
        ready = json.loads(await asyncio.wait_for(proc.stderr.readline(), timeout=30))
        assert ready["ready"] is True

        async with aiohttp.ClientSession() as outsider:  # not signed with the secret
            async with outsider.post(url, data=b'{"type":"atelier.community.work.liked"}', headers={
                    "webhook-id": "msg_forged", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"}) as resp:
                assert resp.status == 400
        work = await artist.publish("liked")
        await fan.call("PUT", f"/v1/works/{work['id']}/like", 204)
        first = json.loads(await asyncio.wait_for(proc.stdout.readline(), timeout=30))
        assert first["event"]["type"] == "atelier.community.work.liked"
        assert first["event"]["data"]["work_id"] == work["id"]
        # A manual retry re-sends the same webhook-id: acknowledged, not printed again.
        await artist.call("POST", f"/v1/webhooks/{hook['id']}/deliveries/{first['webhook_id']}/retry", 202)
        for _ in range(50):
            listing = await artist.call("GET", f"/v1/webhooks/{hook['id']}/deliveries", 200)
            if listing["items"][0]["attempts"] == 2 and listing["items"][0]["status"] == "succeeded":
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"the retry was not delivered: {listing}")
        sent = await artist.call("POST", f"/v1/webhooks/{hook['id']}/test", 202)
        second = json.loads(await asyncio.wait_for(proc.stdout.readline(), timeout=30))
        assert second["webhook_id"] == sent["id"] and second["event"]["type"] == "atelier.webhooks.endpoint.test"
        assert await asyncio.wait_for(proc.wait(), timeout=15) == 0  # --max 2: exactly two printed
        stderr = (await proc.stderr.read()).decode()
        assert "rejected" in stderr
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
