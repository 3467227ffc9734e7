"""SIGKILL of one of the embedded stack's servers (the single NATS, PostgreSQL) and its start again
with the same command line, ports and data, as a supervisor restarting a crashed container would.

The whole process group goes (PostgreSQL's backends with their postmaster, as when its container is
killed); the new process is recorded in the stack, so the session's teardown stops it.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from deploy.local import pgdir, postgres, procs
from deploy.local.nats import health_url
from deploy.local.stack import EmbeddedStack

READY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Crashed:
    record: procs.ProcRecord
    cwd: Path


def _option(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def crash(stack: EmbeddedStack, name: str) -> Crashed:
    """SIGKILL the server `name` ("nats" or "postgres") and every process of its group; wait until gone."""
    record = stack.record(name)
    cwd = Path(os.readlink(f"/proc/{record.pid}/cwd"))
    os.killpg(record.pid, signal.SIGKILL)  # spawned in a session of its own: the group is the server's
    deadline = time.monotonic() + 10
    while procs.is_running(record) or _group_alive(record.pid):
        assert time.monotonic() < deadline, f"{name} outlived SIGKILL"
        time.sleep(0.02)
    return Crashed(record, cwd)


def _group_alive(pgid: int) -> bool:
    """Whether a process of group `pgid` still runs (zombies waiting for their reaper do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def _postgres_accepts(port: int) -> bool:
    async def probe() -> bool:
        conn = await asyncpg.connect(host="127.0.0.1", port=port, user="postgres", database="postgres", timeout=2.0)
        try:
            return bool(await conn.fetchval("SELECT 1", timeout=2.0) == 1)
        finally:
            await conn.close(timeout=2.0)

    try:
        return postgres.run_sync(probe, timeout_s=5.0)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False


def start_again(stack: EmbeddedStack, crashed: Crashed) -> float:
    """Start the crashed server's command again; seconds until it answers (NATS healthy with
    JetStream, PostgreSQL running queries)."""
    old = crashed.record
    log = stack.state_dir / "logs" / f"{old.name}.log"
    run_as = None
    if old.name == "postgres":
        run_as = postgres.unprivileged_account()
        data = Path(_option(old.argv, "-D"))
        pgdir.clear_stale_files(data, Path(_option(old.argv, "-k")), run_as)
        port = int(_option(old.argv, "-p"))
        ready = lambda: _postgres_accepts(port)  # noqa: E731
    elif old.name == "nats":
        monitor = f"http://127.0.0.1:{_option(old.argv, '-m')}"
        ready = lambda: procs.http_ok(health_url(monitor))  # noqa: E731
    else:
        raise ValueError(f"no restart for {old.name!r}")
    # Recorded as the stack's own server (its teardown stops it); the dead record stays, harmless.
    proc, _ = procs.spawn(old.name, old.argv, log, cwd=crashed.cwd, run_as=run_as, stop_signal=old.stop_signal,
                          on_spawn=stack._register_server)
    return procs.wait_ready(old.name, proc, ready, log, READY_TIMEOUT_S)
