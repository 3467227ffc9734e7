"""A graceful restart of one running process of the embedded stack, as a rolling deploy does it:
stop it with its own stop signal (SIGTERM: a service drains its requests and NATS subscriptions; a
NATS node steps down from its JetStream leaderships and its clients reconnect to the other nodes),
wait until it exited, start the same command with the same
environment, working dir and ports again, and wait until `ready()` says it is back (a NATS node:
rejoined the cluster with every stream and consumer current)."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deploy.local import procs


class RestartError(RuntimeError):
    """The process did not stop within its grace, or did not come back ready."""


@dataclass(frozen=True)
class Restarted:
    record: procs.ProcRecord  # the new process
    stop_s: float  # from the stop signal until the old process was gone
    start_s: float  # from the new spawn until ready


def process_env(pid: int) -> dict[str, str]:
    """The environment a running process of ours was started with (/proc/<pid>/environ)."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def config_port(config: Path, key: str) -> int:
    """The port of `key: "127.0.0.1:PORT"` (nats-server) or `key 127.0.0.1:PORT;` (nginx) in a config."""
    found = re.search(rf"^\s*{re.escape(key)}:?\s+\"?[\d.]+:(\d+)", config.read_text(), re.MULTILINE)
    if found is None:
        raise RestartError(f"no {key} port in {config}")
    return int(found.group(1))


def nats_node_ready(monitor_url: str, peers: int) -> bool:
    """A restarted cluster node is back: routed to its `peers` and healthy, i.e. JetStream sees its
    meta leader and every stream and consumer it holds is current (/healthz without options)."""
    try:
        with urllib.request.urlopen(f"{monitor_url}/routez", timeout=1.0) as resp:
            routed = {r.get("remote_id") for r in json.loads(resp.read()).get("routes", [])}
    except (OSError, ValueError):
        return False
    return len(routed) >= peers and procs.http_ok(f"{monitor_url}/healthz")


def restart(record: procs.ProcRecord, ready: Callable[[], bool], log_path: Path, grace_s: float,
            ready_timeout_s: float, stop_signal: int | None = None,
            on_spawn: procs.OnSpawn | None = None) -> Restarted:
    """Stop `record` gracefully (never SIGKILL: a stop that needs it is a bug to see), start it again."""
    if not procs.is_running(record):
        raise RestartError(f"{record.name} (pid {record.pid}) is not running")
    env = process_env(record.pid)
    cwd = Path(os.readlink(f"/proc/{record.pid}/cwd"))
    began = time.monotonic()
    os.kill(record.pid, record.stop_signal if stop_signal is None else stop_signal)
    deadline = began + grace_s
    while procs.is_running(record):
        if time.monotonic() > deadline:
            raise RestartError(f"{record.name} (pid {record.pid}) still running {grace_s:.0f} s after its "
                               f"stop signal; log {log_path}:\n{procs.log_tail(log_path)}")
        time.sleep(procs.POLL_S)
    stop_s = time.monotonic() - began
    proc, new = procs.spawn(record.name, record.argv, log_path, env=env, cwd=cwd,
                            stop_signal=record.stop_signal, on_spawn=on_spawn)
    start_s = procs.wait_ready(record.name, proc, ready, log_path, ready_timeout_s)
    return Restarted(new, stop_s, start_s)
