"""Cluster mode (`ATELIER_REPLICAS=2`) against the real servers: a 3-node NATS cluster (streams and
KV at 3 replicas), two of every service (community, assets, trainer, inference, webhooks, market,
gateway; both inference replicas on one Triton), nginx in front.

An artist's studio (tests/support/cluster_studio.py) is set up first: four works, a webhook
endpoint for published works and finished generations with a local receiver, a tiny trained model.

- Rolling restart: during a workload of clients that retry as real ones do (at most 3 times, with
  backoff, tests/support/rolling_client.py: works, and generations with reads of credits, webhooks
  and models), every process is restarted gracefully one by one (`EmbeddedStack.restart`: each
  NATS node, each replica of each service, each gateway, nginx): no request fails beyond those
  retries, every acknowledged work and generation exists exactly once, and every work's event
  reaches the webhook receiver under one webhook-id. Per-process stop/start times and the retried
  requests (by what was being restarted) are printed.
- SIGKILL: during a workload of patient clients (tests/support/retrying_client.py: works, credit
  reads, a licence request each, generations) and a training job, one NATS node and one replica
  of every service — the trainer replica that runs the job — are SIGKILLed together and not
  restarted: every acknowledged work, generation and licence request exists exactly once, the job
  is resumed from its checkpoint by the other trainer replica (the step shown never goes back),
  every event reaches the webhook receiver (at least once, one webhook-id each), the clients
  recover within 10 s, no Idempotency-Key is refused for more than 10 s, and a retry with an
  answered key replays that answer. The figures are printed (`pytest -s` shows them).

The cluster is this module's own (a temp state dir, its own ports), stopped by pid at the end.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from deploy.local.restart import Restarted
from deploy.local.stack import EmbeddedStack
from tests.support import cluster_studio as studios
from tests.support.cluster_studio import Studio
from tests.support.killable import sigkill
from tests.support.retrying_client import Figures, png, read_until_ok, sign_up, until_done
from tests.support.rolling_client import Tally, member_loop, studio_loop
from tests.support.waiting import eventually
from tests.support.webhook_receiver import Receiver

SERVICES = ["community", "assets", "trainer", "inference", "webhooks", "market", "gateway"]
# With the trainer replica that runs the job (which one is known only then): one of each service.
KILLED = ["nats-3", "community-2", "assets-2", "inference-2", "webhooks-2", "market-2", "gateway-2"]
CLIENTS = 3
WORKS_PER_CLIENT = 6
GENERATIONS = 4
JOB_STEPS = 200
CHECKPOINT_EVERY = 20  # the kill right after the job's first checkpoint leaves ~95% of its run
RECOVERY_LIMIT_S = 10.0
LOCKOUT_LIMIT_S = 10.0
REPLAY_LIMIT_S = 10.0
GENERATION_LIMIT_S = 25.0
# The rolling restart (before the SIGKILL test, which leaves its victims dead): one at a time.
ROLLING = ["nats", "nats-2", "nats-3", "community", "community-2", "assets", "assets-2", "trainer", "trainer-2",
           "inference", "inference-2", "webhooks", "webhooks-2", "market", "market-2", "gateway", "gateway-2",
           "nginx"]
ROLLING_CLIENTS = 3


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    state = tmp_path_factory.mktemp("cluster-state")
    stack = EmbeddedStack(state, with_triton=True, replicas=2)  # one Triton, both inference replicas on it
    try:
        stack.start()
        with pytest.MonkeyPatch.context() as env:  # the services' environment, kept across restarts
            env.setenv("ATELIER_TRAINER_CHECKPOINT_EVERY", str(CHECKPOINT_EVERY))
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


@pytest.fixture(scope="module")
async def studio(cluster: EmbeddedStack) -> AsyncIterator[Studio]:
    receiver = await Receiver().start()
    try:
        async with aiohttp.ClientSession(base_url=cluster.service_urls["gateway"],
                                         timeout=aiohttp.ClientTimeout(total=30)) as http:
            yield await studios.open_studio(http, receiver)
    finally:
        await receiver.stop()


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


async def _client(http: aiohttp.ClientSession, session: dict[str, Any], figures: Figures,
                  progress: asyncio.Queue[int], answered: list[tuple[str, dict[str, Any], dict[str, Any]]],
                  studio: Studio) -> tuple[str, list[str], str]:
    """Works (an upload and a work each), a credit read after each, one licence request on the studio's
    work; returns the username, the acknowledged work ids and the licence request's id."""
    auth = {"Authorization": f"Bearer {session['token']}"}
    username = session["user"]["username"]
    work_ids, licence = [], ""
    for i in range(WORKS_PER_CLIENT):
        asset = await until_done(http, "/v1/assets", figures, {**auth, "Content-Type": "image/png"}, data=png())
        key = f"cluster-{username}-{i}"
        body = {"title": f"cluster {i}", "asset_ids": [asset["id"]], "visibility": "public"}
        work = await until_done(http, "/v1/works", figures, auth, key=key, json=body)
        work_ids.append(work["id"])
        answered.append((key, body, work))
        await read_until_ok(http, "/v1/me/credits", figures, auth)
        if i == 1:
            licence = (await studios.request_licence(http, figures, auth, studio, f"licence-{username}"))["id"]
        progress.put_nowait(i)
    return username, work_ids, licence


async def _listed(http: aiohttp.ClientSession, username: str) -> list[str]:
    async with http.get("/v1/works", params={"author": username, "limit": "50"}) as resp:
        assert resp.status == 200, await resp.text()
        return [w["id"] for w in (await resp.json())["items"]]


async def test_cluster_mode_runs_replicas_behind_nginx(cluster: EmbeddedStack, studio: Studio) -> None:
    names = set(cluster.pids())
    replicas = {f"{name}{suffix}" for name in SERVICES for suffix in ("", "-2")}
    assert {"nats", "nats-2", "nats-3", "nginx", "postgres", "s3", "triton", *replicas} <= names, names
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
    # The studio was set up through the cluster: its model trained and generated from (on the one
    # Triton), its works' events delivered to its webhook receiver.
    assert len(studio.generations) == 1
    await studios.check_deliveries(studio, studio.work_ids)


async def _subscribed(http: aiohttp.ClientSession, url: str, token: str) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(f"{url}/v1/events", protocols=("atelier.v1", f"bearer.{token}"))
    await ws.send_json({"subscribe": ["me"]})
    while "subscribed" not in (doc := await ws.receive_json(timeout=10)):
        assert "error" not in doc, doc
    return ws


async def _followed(ws: aiohttp.ClientWebSocketResponse, follower_id: str) -> dict[str, Any]:
    while True:
        doc = await ws.receive_json(timeout=15)
        if doc.get("type") == "atelier.community.user.followed" and doc["data"]["follower_id"] == follower_id:
            return doc  # type: ignore[no-any-return]


async def test_live_events_reach_websockets_on_every_gateway(cluster: EmbeddedStack) -> None:
    """A follow made through one gateway reaches the followed member's sockets on both gateways."""
    urls = [cluster.service_urls["gateway-1"], cluster.service_urls["gateway-2"]]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
        async with aiohttp.ClientSession(base_url=cluster.service_urls["gateway"],
                                         timeout=aiohttp.ClientTimeout(total=15)) as edge:
            artist, fan = await sign_up(edge, Figures()), await sign_up(edge, Figures())
        sockets = [await _subscribed(http, url, artist["token"]) for url in urls]
        try:
            async with http.put(f"{urls[1]}/v1/users/{artist['user']['username']}/follow",
                                headers={"Authorization": f"Bearer {fan['token']}"}) as resp:
                assert resp.status == 204, await resp.text()
            events = [await _followed(ws, fan["user"]["id"]) for ws in sockets]
        finally:
            for ws in sockets:
                await ws.close()
    assert [e["channel"] for e in events] == ["me", "me"] and events[0]["id"] == events[1]["id"]


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


@pytest.mark.timeout(480)  # 18 processes restarted one by one: ~4 min on a busy 2-core box
async def test_rolling_restart_of_every_process_during_a_workload(cluster: EmbeddedStack, studio: Studio) -> None:
    """Every NATS node, every service replica, each gateway and nginx, one by one, gracefully."""
    order = [n for n in ROLLING if n in cluster.pids()]
    assert order == ROLLING, f"not running: {set(ROLLING) - set(order)}"
    tally, stop = Tally(), asyncio.Event()
    restarted: dict[str, Restarted] = {}
    generations: list[str] = []
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(base_url=cluster.service_urls["gateway"], timeout=timeout) as http:
        members = [asyncio.create_task(member_loop(http, tally, stop)) for _ in range(ROLLING_CLIENTS)]
        generator = asyncio.create_task(studio_loop(http, tally, stop, studio.auth, studio.model_id, generations))
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
            await generator
            studio.generations += generations
        acknowledged = sum(len(m.works) for m in done)
        works = [w for m in done for w in m.works.values()]
        delivered_s = await studios.check_deliveries(studio, works + generations)
        print(f"\n[rolling] {tally.describe()}; {acknowledged} works and {len(generations)} generations "
              f"acknowledged, every one's event delivered by webhook {delivered_s:.1f} s after the workload")
        for name, r in restarted.items():
            print(f"[rolling]   {name:12s} stopped in {r.stop_s:5.2f} s, ready again {r.start_s:5.2f} s later; "
                  f"retried: {', '.join(tally.by_phase.get(name, [])) or 'none'}")
        assert not tally.failures, "requests failed beyond a real client's retries:\n" + "\n".join(tally.failures)
        assert acknowledged >= ROLLING_CLIENTS * 3, "the workload hardly ran"
        assert len(generations) >= 3, "the generations hardly ran"
        for member in done:  # every acknowledged work exists, once
            listed = await _all_works(http, member.username)
            assert sorted(listed) == sorted(member.works.values()), f"{member.username}: lost or doubled works"
        await studios.check_generations(http, studio, Figures())
    assert set(cluster.pids()) >= set(ROLLING)
    for name in ROLLING:  # the new processes, not the old ones, are what the stack stops at the end
        assert cluster.record(name).pid == restarted[name].record.pid


def _training_replica(cluster: EmbeddedStack) -> str:
    """The trainer replica whose child process (services.trainer.runner) is training now."""
    replicas = {cluster.record(n).pid: n for n in ("trainer", "trainer-2")}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid in replicas and b"services.trainer.runner" in (stat.parent / "cmdline").read_bytes():
                return replicas[ppid]
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    raise AssertionError("no trainer replica is training")


async def test_sigkill_of_a_nats_node_and_replicas_during_a_workload(cluster: EmbeddedStack, studio: Studio) -> None:
    figures = Figures()
    progress: asyncio.Queue[int] = asyncio.Queue()
    answered: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(base_url=cluster.service_urls["gateway"], timeout=timeout) as http:
        sessions = [await sign_up(http, figures) for _ in range(CLIENTS)]  # anonymous: before the faults
        job = await studios.start_job(http, studio, JOB_STEPS)
        clients = [asyncio.create_task(_client(http, s, figures, progress, answered, studio)) for s in sessions]
        generating = asyncio.create_task(studios.generations_client(http, studio, figures, GENERATIONS))
        for _ in range(CLIENTS):
            await progress.get()  # every client is under way
        at_kill = await studios.past_first_checkpoint(http, studio, job)
        assert at_kill["step"] < JOB_STEPS, f"training ended before the kill: {at_kill}"
        killed = [*KILLED, _training_replica(cluster)]
        killed_at = time.monotonic()
        for name in killed:
            await asyncio.to_thread(sigkill, cluster.record(name))
        watching = asyncio.create_task(studios.watch_job(http, studio, figures, job, killed_at))
        results = await asyncio.gather(*clients)
        generation_s = await generating
        generated = list(generation_s)
        watch = await watching
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
            listed = [sorted(await _listed(http, username)) for username, _ids, _l in results]
            return listed == [sorted(ids) for _username, ids, _l in results]

        try:  # the listing reads what community wrote: it may lag an answer by a moment
            await eventually(all_listed, timeout_s=10)
        finally:
            for username, ids, _licence in results:
                assert sorted(await _listed(http, username)) == sorted(ids), "a work was lost or created twice"
        for (_username, work_ids, licence), session in zip(results, sessions, strict=True):
            assert len(set(work_ids)) == WORKS_PER_CLIENT
            await studios.check_licence_held_once(http, figures, {"Authorization": f"Bearer {session['token']}"},
                                                  licence)
        await studios.check_generations(http, studio, figures)
        works = [w for _u, ids, _l in results for w in ids]
        delivered_s = await studios.check_deliveries(studio, works + generated)
    print(f"\n[cluster] SIGKILL {', '.join(killed)} together: recovered (first success after the last "
          f"failure) {recovery_s:.1f} s after the kill, longest Idempotency-Key lockout {worst_lockout:.1f} s "
          f"({len(figures.lockouts)} keys refused), retried answers {figures.refused}, "
          f"{len(works)} works, {len(generated)} generations and {len(results)} licence requests each exactly "
          f"once, replays of answered keys {min(replays):.2f}..{max(replays):.2f} s")
    print(f"[cluster]   training job: killed at step {at_kill['step']}, redelivered {watch.redelivered_s:.1f} s "
          f"and resumed from step {watch.progress.get('resumed_from_step')} {watch.resumed_s:.1f} s after the "
          f"kill; steps shown {watch.shown[0]}..{watch.shown[-1]}, never back: {watch.shown == sorted(watch.shown)}"
          if watch.redelivered_s is not None and watch.resumed_s is not None else
          f"[cluster]   training job: not resumed: {watch.progress}")
    print(f"[cluster]   generations made {min(generation_s.values()):.1f}..{max(generation_s.values()):.1f} s "
          f"after asking; webhooks: every work's and generation's event delivered, one webhook-id each, the "
          f"last {delivered_s:.1f} s after the workload")
    assert recovery_s <= RECOVERY_LIMIT_S
    assert worst_lockout <= LOCKOUT_LIMIT_S
    assert max(replays) <= REPLAY_LIMIT_S
    assert watch.shown == sorted(watch.shown), f"the step shown went backwards: {watch.shown}"
    assert watch.redelivered_s is not None and watch.resumed_s is not None, f"no resumed attempt: {watch.progress}"
    assert watch.progress["step"] == JOB_STEPS and watch.progress["resumed_from_step"] > 0
    assert watch.progress["attempts"] == 2
    assert watch.redelivered_s <= RECOVERY_LIMIT_S
    # A generation whose job a killed replica held is redelivered after the short ack wait (6 s; it was
    # 30 s), and the surviving replica may first load the model into Triton: made well within 25 s.
    assert max(generation_s.values()) <= GENERATION_LIMIT_S, generation_s
