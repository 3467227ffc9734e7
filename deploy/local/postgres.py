"""PostgreSQL started directly (`postgres`, not `pg_ctl`) so it stays a child with a known pid.

Binaries: Debian's (/usr/lib/postgresql/<newest>/bin) else the ones bundled in PyPI `pgserver`
(only its binaries: its own launcher is invasive as root). `initdb` and `postgres` refuse to run
as root, so as root the data directory belongs to an unprivileged account and both run as it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import os
import pwd
import re
import shutil
import signal
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from deploy.local import pgdir, procs
from deploy.local.procs import OnSpawn

READY_TIMEOUT_S = 30.0
DATABASE = "atelier"
T = TypeVar("T")

# Speed over durability against power loss: this cluster is for development and tests. Commits
# still reach the OS before they return (synchronous_commit stays on: with fsync off it costs only
# a write()), so a killed server loses nothing and a crashed `make run` restarts with its data.
FAST_SETTINGS = {
    "fsync": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "128MB",
    "logging_collector": "off",
}


@dataclass(frozen=True)
class PostgresServer:
    record: procs.ProcRecord
    port: int
    database_url: str
    data_root: Path
    ready_s: float


def postgres_bin_dir() -> Path:
    candidates = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "postgres").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    spec = importlib.util.find_spec("pgserver")
    for location in (spec.submodule_search_locations or []) if spec else []:
        bundled = Path(location) / "pginstall" / "bin"
        if (bundled / "postgres").exists():
            return bundled
    raise procs.StartError("no PostgreSQL binaries: run `bash deploy/local/install-tools.sh`")


def unprivileged_account() -> tuple[int, int] | None:
    """(uid, gid) to run PostgreSQL as when we are root; None when we already are a normal user."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid
    raise procs.StartError("running as root and neither a `postgres` nor a `nobody` account exists")


def run_sync(factory: Callable[[], Awaitable[T]], timeout_s: float = 30.0) -> T:
    """Run a coroutine to completion from sync code, even when the caller has a running loop."""

    async def bounded() -> T:
        return await asyncio.wait_for(factory(), timeout_s)

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, bounded()).result()


def _accepts(port: int) -> bool:
    async def probe() -> bool:
        conn = await asyncpg.connect(host="127.0.0.1", port=port, user="postgres", database="postgres",
                                     timeout=2.0)
        try:
            return bool(await conn.fetchval("SELECT 1", timeout=2.0) == 1)
        finally:
            await conn.close(timeout=2.0)

    try:
        return run_sync(probe, timeout_s=5.0)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False


def _ensure_database(port: int) -> None:
    async def create() -> None:
        conn = await asyncpg.connect(host="127.0.0.1", port=port, user="postgres", database="postgres",
                                     timeout=5.0)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{DATABASE}"', timeout=15.0)
        finally:
            await conn.close(timeout=2.0)

    run_sync(create, timeout_s=30.0)


def _initdb(bin_dir: Path, data: Path, account: tuple[int, int] | None, log: Path) -> None:
    if data.exists():
        shutil.rmtree(data)  # a half-made cluster from an interrupted initdb: start over
    data.mkdir(mode=0o700)
    if account is not None:
        os.chown(data, *account)
    argv = [str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--locale=C", "--no-sync"]
    user_kwargs: dict[str, Any] = (
        {"user": account[0], "group": account[1], "extra_groups": []} if account else {}
    )
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=data, timeout=120, check=False, **user_kwargs)
    if result.returncode != 0:
        raise procs.StartError(f"initdb failed ({result.returncode}); log {log}:\n{procs.log_tail(log)}")


def _check_version(bin_dir: Path, data: Path) -> None:
    """A cluster made by another major version (Debian's 15 vs pgserver's 16) cannot be opened."""
    out = subprocess.run([str(bin_dir / "postgres"), "--version"], capture_output=True, text=True,
                         timeout=10, check=True).stdout
    match = re.search(r"\(PostgreSQL\) (\d+)", out)
    binary_major = match.group(1) if match else ""
    data_major = (data / "PG_VERSION").read_text().strip()
    if binary_major != data_major:
        raise procs.StartError(f"{data} holds a PostgreSQL {data_major} cluster but {bin_dir} is "
                               f"PostgreSQL {binary_major}: remove {data.parent} to start afresh")


def start_postgres(state_dir: Path, on_spawn: OnSpawn | None = None) -> PostgresServer:
    bin_dir = postgres_bin_dir()
    account = unprivileged_account()
    root = pgdir.data_root(state_dir, account)
    data, sockets = root / "data", root / "run"
    log = state_dir / "logs" / "postgres.log"
    if not (data / "PG_VERSION").exists():
        _initdb(bin_dir, data, account, log)
    _check_version(bin_dir, data)
    pgdir.clear_stale_files(data, sockets, account)
    port = procs.free_port()
    argv = [str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
            "-k", str(sockets)]
    for key, value in FAST_SETTINGS.items():
        argv += ["-c", f"{key}={value}"]
    # SIGINT is PostgreSQL's "fast" shutdown; SIGTERM ("smart") would wait for every client.
    proc, record = procs.spawn("postgres", argv, log, cwd=data, run_as=account, stop_signal=signal.SIGINT,
                                 on_spawn=on_spawn)
    ready_s = procs.wait_ready("postgres", proc, lambda: _accepts(port), log, READY_TIMEOUT_S)
    _ensure_database(port)
    url = f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}"
    return PostgresServer(record, port, url, root, ready_s)
