"""Atelier's own services (`python -m services.<name>`) as child processes of the launcher."""

from __future__ import annotations

import dataclasses
import functools
import os
import subprocess
import sys
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from deploy.local import procs

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0
# Start order: the gateway last, so it is ready only once everything behind it is.
ORDER = ("community", "assets", "trainer", "inference", "gateway")
SHUTDOWN_TIMEOUT_S = 10.0  # given to services as ATELIER_SHUTDOWN_TIMEOUT_S; stop() waits a bit longer


@dataclasses.dataclass(frozen=True)
class ServiceProc:
    name: str
    record: procs.ProcRecord
    url: str
    ready_s: float


def existing_services(root: Path = REPO_ROOT) -> list[str]:
    """The services of ORDER that have been written (services/<name>/__main__.py exists)."""
    return [name for name in ORDER if (root / "services" / name / "__main__.py").exists()]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=1.0) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def start_services(
    names: list[str],
    base_env: Mapping[str, str],
    logs: Path,
    gateway_port: int = 8080,
    on_spawn: procs.OnSpawn | None = None,
) -> dict[str, ServiceProc]:
    """Start all `names` at once, then wait for each one's /readyz (fails with its log tail)."""
    started: list[tuple[ServiceProc, subprocess.Popen[bytes], Path]] = []
    for name in names:
        port = (gateway_port or procs.free_port()) if name == "gateway" else procs.free_port()
        env = {**os.environ, **base_env, "ATELIER_HTTP_PORT": str(port), "ATELIER_SERVICE_NAME": name}
        env.setdefault("ATELIER_SHUTDOWN_TIMEOUT_S", str(SHUTDOWN_TIMEOUT_S))
        if name == "gateway":
            env["ATELIER_GATEWAY_PORT"] = str(port)
        log = logs / f"{name}.log"
        proc, record = procs.spawn(name, [sys.executable, "-m", f"services.{name}"], log, env=env,
                                   cwd=REPO_ROOT, on_spawn=on_spawn)
        started.append((ServiceProc(name, record, f"http://127.0.0.1:{port}", 0.0), proc, log))
    result: dict[str, ServiceProc] = {}
    for service, proc, log in started:
        ready_s = procs.wait_ready(service.name, proc, functools.partial(_ready, service.url), log,
                                   READY_TIMEOUT_S)
        result[service.name] = dataclasses.replace(service, ready_s=ready_s)
    return result
