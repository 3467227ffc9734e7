"""The state dir's record of a running stack (`stack.json`) and its long-lived secrets."""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deploy.local.procs import ProcRecord

STACK_FILE = "stack.json"
SECRETS_FILE = "secrets.json"


def _write_private(path: Path, data: dict[str, Any]) -> None:
    # Write-then-rename so a crash never leaves half a file; 0600 because it holds credentials.
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=2, sort_keys=True)
    os.replace(tmp, path)


def load_secrets(state_dir: Path) -> dict[str, str]:
    """Dev credentials, generated once per state dir (the S3 store keeps no users of its own)."""
    path = state_dir / SECRETS_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    wanted: dict[str, Callable[[], str]] = {
        "s3_access_key": lambda: "atelier",
        "s3_secret_key": lambda: secrets.token_urlsafe(18),
        "triton_admin_token": lambda: secrets.token_urlsafe(24),
    }
    missing = {key: make() for key, make in wanted.items() if not data.get(key)}
    if missing:
        data.update(missing)
        _write_private(path, data)
    return {key: str(value) for key, value in data.items()}


class StackFile:
    """stack.json: endpoints, service URLs and the processes started (`procs`, `pids`)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / STACK_FILE
        self._lock = threading.Lock()  # servers start in parallel threads and register here

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def records(self) -> list[ProcRecord]:
        return [ProcRecord.from_json(r) for r in self.read().get("procs", {}).values()]

    def update(self, **fields: Any) -> None:
        with self._lock:
            data = self.read()
            data.update(fields)
            self._save(data)

    def add_proc(self, record: ProcRecord) -> None:
        with self._lock:
            data = self.read()
            data.setdefault("procs", {})[record.name] = record.to_json()
            self._save(data)

    def remove_procs(self, names: list[str]) -> None:
        with self._lock:
            data = self.read()
            for name in names:
                data.get("procs", {}).pop(name, None)
            self._save(data)

    def _save(self, data: dict[str, Any]) -> None:
        if not self.path.parent.is_dir():
            return  # the state dir was deleted (destroy()): nothing left to record
        data["pids"] = {name: rec["pid"] for name, rec in data.get("procs", {}).items()}
        _write_private(self.path, data)
