"""examples/work_subscriber.py against the test stack: a published work is printed once, valid
against its JSON Schema, and a restart of the same durable consumer does not print it again."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from shared.contracts.events import make_event
from shared.contracts.events.catalog import WorkPublished
from shared.ids import new_id
from shared.messaging.publisher import publish_event

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "work_subscriber.py"


async def start(nats_url: str, durable: str, *extra: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLE), "--nats-url", nats_url, "--durable", durable, *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stderr is not None
    ready = await asyncio.wait_for(proc.stderr.readline(), timeout=20)
    assert json.loads(ready)["ready"] is True, ready
    return proc


async def output(proc: asyncio.subprocess.Process) -> list[dict[str, Any]]:
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, stderr.decode()
    assert b"invalid event" not in stderr, stderr.decode()
    return [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]


async def test_example_subscriber_receives_a_published_work_once(endpoints, js) -> None:
    durable = f"example-test-{new_id().lower()}"
    proc = await start(endpoints.nats_url, durable, "--deliver-new", "--idle-exit", "2")
    work = WorkPublished(work_id=new_id(), author_id=new_id(), title="Seen from outside", origin="ai",
                         tags=["sea"], asset_ids=[new_id()], visibility="public", model_id=new_id(), model_version=1)
    event = make_event(work, service="community", subject_id=work.work_id)
    await publish_event(js, event, timeout=5)
    await publish_event(js, event, timeout=5)  # a retried publish: JetStream keeps one copy
    printed = [e for e in await output(proc) if e["data"]["work_id"] == work.work_id]
    assert len(printed) == 1
    assert printed[0]["id"] == event.id and printed[0]["type"] == "atelier.community.work.published"
    assert printed[0]["data"]["model_id"] == work.model_id

    again = await start(endpoints.nats_url, durable, "--idle-exit", "2")
    assert [e for e in await output(again) if e["data"]["work_id"] == work.work_id] == []
    await js.delete_consumer("COMMUNITY", durable)
