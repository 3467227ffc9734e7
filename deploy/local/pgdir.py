"""Where the PostgreSQL cluster of a state dir lives, and clearing what a crash left behind.

As root, PostgreSQL runs as an unprivileged account that must be able to reach its data dir.
A state dir under a private parent (pytest's /tmp/pytest-of-root is 0700) is unreachable for it;
rather than loosening permissions on directories that are not ours, the cluster then lives
under /var/tmp/atelier-postgres/<hash of the state dir>, which records its owner so that
clusters of deleted state dirs are removed at a later start.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

from deploy.local import procs

EXTERNAL_BASE = Path("/var/tmp/atelier-postgres")
OWNER_FILE = "state-dir.txt"


def _traversable(path: Path, uid: int, gid: int) -> bool:
    for part in [path, *path.parents]:
        st = os.stat(part)
        if st.st_uid == uid:
            needed = stat.S_IXUSR
        elif st.st_gid == gid:
            needed = stat.S_IXGRP
        else:
            needed = stat.S_IXOTH
        if not st.st_mode & needed:
            return False
    return True


def _make_owned(path: Path, account: tuple[int, int] | None) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if account is not None:
        os.chown(path, *account)


def data_root(state_dir: Path, account: tuple[int, int] | None) -> Path:
    """A directory holding `data/` (the cluster) and `run/` (its socket), reachable by `account`."""
    state_dir = state_dir.resolve()
    if account is None or _traversable(state_dir, *account):
        root = state_dir / "postgres"
        root.mkdir(exist_ok=True)
        if account is not None:
            os.chmod(root, 0o755)
        return root
    _remove_orphans()
    root = EXTERNAL_BASE / hashlib.sha256(str(state_dir).encode()).hexdigest()[:16]
    root.mkdir(mode=0o755, parents=True, exist_ok=True)
    os.chmod(EXTERNAL_BASE, 0o755)
    (root / OWNER_FILE).write_text(str(state_dir))
    return root


def _remove_orphans() -> None:
    """Drop clusters whose state dir is gone and whose postmaster is not running."""
    if not EXTERNAL_BASE.is_dir():
        return
    for root in EXTERNAL_BASE.iterdir():
        try:
            owner = Path((root / OWNER_FILE).read_text().strip())
        except OSError:
            continue
        if owner.exists() or _live_postmaster(root / "data") is not None:
            continue
        shutil.rmtree(root, ignore_errors=True)


def _live_postmaster(data: Path) -> int | None:
    """The pid in data/postmaster.pid if that process is a postgres serving this data dir."""
    try:
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError, IndexError):
        return None
    return pid if "postgres" in cmdline and str(data) in cmdline else None


def clear_stale_files(data: Path, sockets: Path, account: tuple[int, int] | None) -> None:
    """Remove the lock file and sockets a killed postmaster left; refuse if one is still running."""
    pid = _live_postmaster(data)
    if pid is not None:
        raise procs.StartError(f"PostgreSQL (pid {pid}) is already running on {data}: stop it first")
    (data / "postmaster.pid").unlink(missing_ok=True)
    _make_owned(sockets, account)
    for leftover in sockets.iterdir():
        leftover.unlink(missing_ok=True)
