"""Cluster mode (`ATELIER_REPLICAS=2`) against the real servers: a 3-node NATS cluster (streams and
KV at 3 replicas), two of community, assets and the gateway, nginx in front.

- Rolling restart: during a workload of clients that retry as real ones do (at most 3 times, with
  backoff, tests/support/rolling_client.py), every process is restarted gracefully one by one
  (`EmbeddedStack.restart`: each NATS node, each replica, each gateway, nginx): no request fails
  beyond those retries and every acknowledged work exists exactly once. Per-process stop/start
  times and the retried requests (by what was being restarted) are printed.
- SIGKILL: during a workload of patient clients (tests/support/retrying_client.py) one NATS node
  and one replica of community, assets and the gateway are SIGKILLed together and not restarted:
  every acknowledged work exists exactly once, the clients recover within 10 s, no
  Idempotency-Key is refused for more than 10 s, and a retry with an answered key replays that
  answer. The figures are printed (`pytest -s` shows them).

The cluster is this module's own (a temp state dir, its own ports), stopped by pid at the end.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from deploy.local.restart import Restarted
from deploy.local.stack import EmbeddedStack
from tests.support.killable import sigkill
from tests.support.retrying_client import Figures, png, sign_up, until_done
from tests.support.rolling_client import Tally, member_loop
from tests.support.waiting import eventually

SERVICES = ["community", "assets", "gateway"]
KILLED = ["nats-3", "community-2", "assets-2", "gateway-2"]
CLIENTS = 3
WORKS_PER_CLIENT = 6
RECOVERY_LIMIT_S = 10.0
LOCKOUT_LIMIT_S = 10.0
REPLAY_LIMIT_S = 10.0
# The rolling restart (before the SIGKILL test, which leaves its victims dead): one at a time.
ROLLING = ["nats", "nats-2", "nats-3", "community", "community-2", "assets", "assets-2",
           "gateway", "gateway-2", "nginx"]
ROLLING_CLIENTS = 3


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    state = tmp_path_factory.mktemp("cluster-state")
    stack = EmbeddedStack(state, with_triton=False, replicas=2)
    try:
        stack.start()
        stack.start_services(SERVICES, gateway_port=0)
        yield stack
    finally:
        recorded = list(stack.pids().values())
        stack.stop()
        # The logs outlive the state dir (pytest keeps its last temp dirs): what to read after a failure.
        shutil.copytree(state / "logs", state.parent / f"{state.name}-logs", dirs_exist_ok=True)
        stack.destroy()
        left = [pid for pid in recorded if Path(f"/proc/{pid}").exists()
                and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()]
        assert not left, f"processes left running after stop: {left}"


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


async def _client(http: aiohttp.ClientSession, session: dict[str, Any], figures: Figures,
                  progress: asyncio.Queue[int], answered: list[tuple[str, dict[str, Any], dict[str, Any]]],
                  ) -> tuple[str, list[str]]:
    auth = {"Authorization": f"Bearer {session['token']}"}
    work_ids = []
    for i in range(WORKS_PER_CLIENT):
        asset = await until_done(http, "/v1/assets", figures, {**auth, "Content-Type": "image/png"}, data=png())
        key = f"cluster-{session['user']['username']}-{i}"
        body = {"title": f"cluster {i}", "asset_ids": [asset["id"]], "visibility": "public"}
        work = await until_done(http, "/v1/works", figures, auth, key=key, json=body)
        work_ids.append(work["id"])
        answered.append((key, body, work))
        progress.put_nowait(i)
    return session["user"]["username"], work_ids


async def _listed(http: aiohttp.ClientSession, username: str) -> list[str]:
    async with http.get("/v1/works", params={"author": username, "limit": "50"}) as resp:
        assert resp.status == 200, await resp.text()
        return [w["id"] for w in (await resp.json())["items"]]


async def test_cluster_mode_runs_replicas_behind_nginx(cluster: EmbeddedStack) -> None:
    names = set(cluster.pids())
    assert {"nats", "nats-2", "nats-3", "nginx", "community", "community-2", "assets", "assets-2",
            "gateway", "gateway-2", "postgres"} <= names, names
    assert len(cluster.service_env("community")["ATELIER_NATS_URL"].split(",")) == 3
    assert cluster.endpoints is not None
    jsz = f"{cluster.endpoints.nats_monitor_url}/jsz?accounts=true&streams=true"
    doc = await asyncio.to_thread(_get_json, jsz)
    streams = {s["name"]: s for d in doc.get("account_details", []) for s in d.get("stream_detail", [])}
    assert {"COMMUNITY", "JOBS", "KV_idempotency", "KV_quotas"} <= set(streams), sorted(streams)
    # Every stream has a leader and two followers on the other nodes (replication 3).
    for name, stream in streams.items():
        assert len(stream["cluster"].get("replicas", [])) == 2, (name, stream["cluster"])
    # nginx passes WebSocket upgrades to the gateways, and sign-ups land on both replicas' platform.
    async with aiohttp.ClientSession(base_url=cluster.service_urls["gateway"],
                                     timeout=aiohttp.ClientTimeout(total=15)) as http:
        session = await sign_up(http, Figures())
        protocols = ("atelier.v1", f"bearer.{session['token']}")
        async with http.ws_connect("/v1/events", protocols=protocols) as ws:
            await ws.send_json({"ping": "through nginx"})
            assert await ws.receive_json(timeout=5) == {"pong": "through nginx"}
        for _ in range(4):  # round robin: both gateways verify the token community issued
            async with http.get("/v1/me", headers={"Authorization": f"Bearer {session['token']}"}) as resp:
                assert resp.status == 200, await resp.text()


async def _all_works(http: aiohttp.ClientSession, username: str) -> list[str]:
    ids: list[str] = []
    params = {"author": username, "limit": "50"}
    while True:
        async with http.get("/v1/works", params=params) as resp:
            assert resp.status == 200, await resp.text()
            page = await resp.json()
        ids += [w["id"] for w in page["items"]]
        if not page.get("next_cursor"):
            return ids
        params["cursor"] = page["next_cursor"]


async def test_rolling_restart_of_every_process_during_a_workload(cluster: EmbeddedStack) -> None:
    """Every NATS node, every service replica, each gateway and nginx, one by one, gracefully."""
    order = [n for n in ROLLING if n in cluster.pids()]
    assert order == ROLLING, f"not running: {set(ROLLING) - set(order)}"
    tally, stop = Tally(), asyncio.Event()
    restarted: dict[str, Restarted] = {}
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(base_url=cluster.service_urls["gateway"], timeout=timeout) as http:
        members = [asyncio.create_task(member_loop(http, tally, stop)) for _ in range(ROLLING_CLIENTS)]
        try:
            await asyncio.sleep(2)  # the workload is under way
            for name in ROLLING:
                tally.phase = name
                restarted[name] = await asyncio.to_thread(cluster.restart, name)
                await asyncio.sleep(1)  # load on the restarted process before the next one goes
            tally.phase = "after"
        finally:
            stop.set()
            done = await asyncio.gather(*members)
        acknowledged = sum(len(m.works) for m in done)
        print(f"\n[rolling] {tally.describe()}; {acknowledged} works acknowledged")
        for name, r in restarted.items():
            print(f"[rolling]   {name:12s} stopped in {r.stop_s:5.2f} s, ready again {r.start_s:5.2f} s later; "
                  f"retried: {', '.join(tally.by_phase.get(name, [])) or 'none'}")
        assert not tally.failures, "requests failed beyond a real client's retries:\n" + "\n".join(tally.failures)
        assert acknowledged >= ROLLING_CLIENTS * 3, "the workload hardly ran"
        for member in done:  # every acknowledged work exists, once
            listed = await _all_works(http, member.username)
            assert sorted(listed) == sorted(member.works.values()), f"{member.username}: lost or doubled works"
    assert set(cluster.pids()) >= set(ROLLING)
    for name in ROLLING:  # the new processes, not the old ones, are what the stack stops at the end
        assert cluster.record(name).pid == restarted[name].record.pid


async def test_sigkill_of_a_nats_node_and_replicas_during_a_workload(cluster: EmbeddedStack) -> None:
    figures = Figures()
    progress: asyncio.Queue[int] = asyncio.Queue()
    answered: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(base_url=cluster.service_urls["gateway"], timeout=timeout) as http:
        sessions = [await sign_up(http, figures) for _ in range(CLIENTS)]  # anonymous: before the faults
        clients = [asyncio.create_task(_client(http, s, figures, progress, answered)) for s in sessions]
        for _ in range(CLIENTS):
            await progress.get()  # every client is under way
        killed_at = time.monotonic()
        for name in KILLED:
            await asyncio.to_thread(sigkill, cluster.record(name))
        results = await asyncio.gather(*clients)
        recovery_s = figures.recovery_s(killed_at)
        worst_lockout = max(figures.lockouts.values(), default=0.0)

        # A retry of an answered request (same key, same body) replays its answer, not a second work.
        replays: list[float] = []
        for key, body, work in answered[:3] + answered[-3:]:
            token = next(s["token"] for s in sessions if key.startswith(f"cluster-{s['user']['username']}-"))
            began = time.monotonic()
            again = await until_done(http, "/v1/works", figures, {"Authorization": f"Bearer {token}"},
                                     key=key, json=body)
            replays.append(time.monotonic() - began)
            assert again["id"] == work["id"], "a retry with an answered key made a second work"

        async def all_listed() -> bool:
            listed = [sorted(await _listed(http, username)) for username, _ids in results]
            return listed == [sorted(ids) for _username, ids in results]

        try:  # the listing reads what community wrote: it may lag an answer by a moment
            await eventually(all_listed, timeout_s=10)
        finally:
            for username, ids in results:
                assert sorted(await _listed(http, username)) == sorted(ids), "a work was lost or created twice"
        for _username, work_ids in results:
            assert len(set(work_ids)) == WORKS_PER_CLIENT
    print(f"\n[cluster] SIGKILL {', '.join(KILLED)} together: recovered (first success after the last "
          f"failure) {recovery_s:.1f} s after the kill, longest Idempotency-Key lockout {worst_lockout:.1f} s "
          f"({len(figures.lockouts)} keys refused), retried answers {figures.refused}, "
          f"{sum(len(ids) for _, ids in results)} works each exactly once, replays of answered keys "
          f"{min(replays):.2f}..{max(replays):.2f} s")
    assert recovery_s <= RECOVERY_LIMIT_S
    assert worst_lockout <= LOCKOUT_LIMIT_S
    assert max(replays) <= REPLAY_LIMIT_S
