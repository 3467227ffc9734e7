"""Atelier's own services (`python -m services.<name>`) as child processes of the launcher."""

from __future__ import annotations

import dataclasses
import functools
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from deploy.local import procs

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0
# Start order: the gateway last, so it is ready only once everything behind it is.
ORDER = ("community", "assets", "trainer", "inference", "webhooks", "market", "gateway")
SHUTDOWN_TIMEOUT_S = 15.0  # given to services as ATELIER_SHUTDOWN_TIMEOUT_S; stop() waits a bit longer


@dataclasses.dataclass(frozen=True)
class ServiceProc:
    name: str
    record: procs.ProcRecord
    url: str
    ready_s: float


def instance_name(name: str, index: int) -> str:
    """Replica `index` (1-based) of a service: community, community-2, ..."""
    return name if index == 1 else f"{name}-{index}"


def service_of(instance: str) -> str | None:
    """The service an instance name (a record's name) belongs to; None for a server's."""
    base, _, suffix = instance.rpartition("-")
    name = base if suffix.isdigit() else instance
    return name if name in ORDER else None


def existing_services(root: Path = REPO_ROOT) -> list[str]:
    """The services of ORDER that have been written (services/<name>/__main__.py exists)."""
    return [name for name in ORDER if (root / "services" / name / "__main__.py").exists()]


PORT_ATTEMPTS = 3


def start_services(
    names: list[str],
    base_env: Mapping[str, str],
    logs: Path,
    gateway_port: int = 8080,
    on_spawn: procs.OnSpawn | None = None,
    env_for: Callable[[str], Mapping[str, str]] | None = None,
    replicas: int = 1,
) -> dict[str, ServiceProc]:
    """Start all `names` at once (`replicas` instances of each), then wait for each one's /readyz
    (fails with its log tail). Keyed by instance name (`instance_name`).

    `env_for(name)`, when given, adds that service's own settings (its NATS identity) to `base_env`.
    With replicas, every gateway listens on a port of its own and `gateway_port` is left to the
    load balancer.

    A service whose picked port was taken before it could bind it is started again on a fresh port.
    """
    fixed_port = gateway_port if replicas == 1 else 0

    def launch(name: str, index: int) -> tuple[ServiceProc, subprocess.Popen[bytes], Path]:
        instance = instance_name(name, index)
        port = (fixed_port or procs.free_port()) if name == "gateway" else procs.free_port()
        own = env_for(name) if env_for is not None else {}
        env = {**os.environ, **base_env, **own, "ATELIER_HTTP_PORT": str(port), "ATELIER_SERVICE_NAME": name}
        env.setdefault("ATELIER_SHUTDOWN_TIMEOUT_S", str(SHUTDOWN_TIMEOUT_S))
        if name == "gateway":
            env["ATELIER_GATEWAY_PORT"] = str(port)
        log = logs / f"{instance}.log"
        proc, record = procs.spawn(instance, [sys.executable, "-m", f"services.{name}"], log, env=env,
                                   cwd=REPO_ROOT, on_spawn=on_spawn)
        return ServiceProc(instance, record, f"http://127.0.0.1:{port}", 0.0), proc, log

    started = [launch(name, index) for index in range(1, replicas + 1) for name in names]
    result: dict[str, ServiceProc] = {}
    for service, proc, log in started:
        name = service_of(service.name) or service.name
        index = int(service.name.rpartition("-")[2]) if service.name != name else 1
        picked_port = name != "gateway" or not fixed_port
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                ready = functools.partial(procs.http_ok, f"{service.url}/readyz")
                ready_s = procs.wait_ready(service.name, proc, ready, log, READY_TIMEOUT_S)
                break
            except procs.EarlyExit:
                if not (picked_port and attempt < PORT_ATTEMPTS and procs.lost_its_port(log)):
                    raise
                service, proc, log = launch(name, index)
        result[service.name] = dataclasses.replace(service, ready_s=ready_s)
    return result
