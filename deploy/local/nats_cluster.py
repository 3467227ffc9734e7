"""Cluster mode's NATS: three `nats-server` nodes on the loopback, joined by cluster routes, each
with JetStream and a store dir of its own, and the same users and permissions as the single server
(deploy/local/nats.py). Streams and KV buckets on it are created with 3 replicas."""

from __future__ import annotations

import json
from pathlib import Path

from deploy.local import nats_auth, procs
from deploy.local.nats import MAX_PAYLOAD, READY_TIMEOUT_S, NatsServer, health_url, nats_binary
from deploy.local.procs import OnSpawn

NODES = 3
CLUSTER_NAME = "atelier"


def node_name(index: int) -> str:
    """The launcher's record name of node `index` (1-based): nats, nats-2, nats-3."""
    return "nats" if index == 1 else f"nats-{index}"


def node_config(index: int, ports: list[tuple[int, int, int]], store: Path, passwords: dict[str, str]) -> str:
    """One node's config: its client, monitor and route ports, and routes to every other node."""
    port, monitor_port, route_port = ports[index - 1]
    routes = [f"nats-route://127.0.0.1:{p[2]}" for i, p in enumerate(ports, start=1) if i != index]
    return "\n".join([
        f"server_name: {json.dumps(f'atelier-n{index}')}",
        f"listen: \"127.0.0.1:{port}\"",
        f"http: \"127.0.0.1:{monitor_port}\"",
        f"jetstream {{ store_dir: {json.dumps(str(store))} }}",
        f"cluster {{ name: {CLUSTER_NAME}, listen: \"127.0.0.1:{route_port}\", routes: {json.dumps(routes)} }}",
        nats_auth.server_config(passwords, MAX_PAYLOAD),
    ])  # fmt: skip


def start_nats_cluster(state_dir: Path, on_spawn: OnSpawn | None = None, nodes: int = NODES) -> NatsServer:
    """Start every node at once, then wait until each runs JetStream.

    The returned server's `server_url` lists every node (comma-separated, what services connect
    with); `url` and `monitor_url` are node 1's (tools and tests)."""
    passwords = nats_auth.new_passwords()
    credentials = nats_auth.write_credentials(state_dir, passwords)
    ports = [(procs.free_port(), procs.free_port(), procs.free_port()) for _ in range(nodes)]
    started = []
    for index in range(1, nodes + 1):
        store = state_dir / f"nats-n{index}"
        store.mkdir(parents=True, exist_ok=True)
        config = state_dir / f"nats-n{index}.conf"
        nats_auth.write_private(config, node_config(index, ports, store, passwords))
        log = state_dir / "logs" / f"{node_name(index)}.log"
        proc, record = procs.spawn(node_name(index), [str(nats_binary()), "-c", str(config)], log,
                                   on_spawn=on_spawn)
        started.append((proc, record, log, f"http://127.0.0.1:{ports[index - 1][1]}"))
    ready_s = 0.0
    for index, (proc, _record, log, monitor_url) in enumerate(started, start=1):
        ready = lambda url=monitor_url: procs.http_ok(health_url(url))  # noqa: E731
        ready_s = max(ready_s, procs.wait_ready(node_name(index), proc, ready, log, READY_TIMEOUT_S))
    server_urls = [f"nats://127.0.0.1:{p[0]}" for p in ports]
    return NatsServer(started[0][1], nats_auth.admin_url(server_urls[0], passwords), started[0][3], ready_s,
                      ",".join(server_urls), credentials)
