"""Services as a test module's own processes, killable by pid and started again at once, as a
supervisor would (the session platform's instances keep running beside them)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping
from pathlib import Path

from deploy.local import procs, services
from deploy.local.stack import EmbeddedStack


def sigkill(record: procs.ProcRecord) -> None:
    """SIGKILL a recorded process, then wait (up to 5 s) until it is gone."""
    os.kill(record.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while procs.is_running(record) and time.monotonic() < deadline:
        time.sleep(0.02)


class KillableServices:
    """`extra_env[name]` adds settings to that service's environment."""

    def __init__(self, stack: EmbeddedStack, logs: Path, extra_env: Mapping[str, Mapping[str, str]] | None = None,
                 ) -> None:
        self.stack, self.logs = stack, logs
        self.extra_env = extra_env or {}
        self.records: dict[str, procs.ProcRecord] = {}
        self.all_records: list[procs.ProcRecord] = []
        self.gateway_url = ""
        self.urls: dict[str, str] = {}  # name -> base URL (its /readyz)

    def start(self, names: list[str], gateway_port: int = 0) -> None:
        started = services.start_services(names, self.stack.service_env(), self.logs, gateway_port,
                                          self.all_records.append, env_for=self._env)
        for name, proc in started.items():
            self.records[name] = proc.record
            self.urls[name] = proc.url
            if name == "gateway":
                self.gateway_url = proc.url

    def _env(self, name: str) -> dict[str, str]:
        return {**self.stack.service_env(name), **self.extra_env.get(name, {})}

    def kill(self, name: str) -> None:
        """SIGKILL, then wait (up to 5 s) until the process is gone."""
        sigkill(self.records[name])

    def restart(self, name: str) -> None:
        """Start `name` again (the gateway on its old port, so clients keep their URL)."""
        port = int(self.gateway_url.rsplit(":", 1)[1]) if name == "gateway" else 0
        self.start([name], gateway_port=port)

    def stop(self) -> None:
        assert not procs.stop_all(self.all_records, grace_s=15)
