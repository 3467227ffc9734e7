"""A private nats-server for tests that stop and restart NATS without touching the session's."""

from __future__ import annotations

from pathlib import Path

from deploy.local import procs
from deploy.local.nats import health_url, nats_binary


class RestartableNats:
    """A nats-server that can be stopped and started again on the same port and store."""

    def __init__(self, state: Path, name: str = "nats-test") -> None:
        self.state = state
        self.name = name
        self.port, self.monitor = procs.free_port(), procs.free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.record: procs.ProcRecord | None = None

    def start(self) -> None:
        argv = [str(nats_binary()), "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor),
                "-js", "-sd", str(self.state / "js")]
        proc, self.record = procs.spawn(self.name, argv, self.state / "nats.log")
        procs.wait_ready(self.name, proc, lambda: procs.http_ok(health_url(f"http://127.0.0.1:{self.monitor}")),
                         self.state / "nats.log", 15)

    def stop(self) -> None:
        if self.record is not None:
            assert not procs.stop_all([self.record], grace_s=5), "nats-server outlived SIGKILL"
            self.record = None
