"""The local NATS server's users: one password per identity of shared/messaging/permissions.py,
generated afresh for every start and written, 0600, where the services (their environment, see
EmbeddedStack.service_env) and the tests and tools (`nats-credentials.json`, and `nats_url` in
stack.json, which carries the admin identity) find them."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from shared.messaging.permissions import ADMIN, NAMES, authorization_block, quoted

CREDENTIALS_FILE = "nats-credentials.json"


def new_passwords() -> dict[str, str]:
    return {name: secrets.token_urlsafe(24) for name in NAMES}


def write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(tmp, path)


def write_credentials(state_dir: Path, passwords: dict[str, str]) -> Path:
    path = state_dir / CREDENTIALS_FILE
    write_private(path, json.dumps({"users": passwords}, indent=2, sort_keys=True))
    return path


def read_credentials(path: Path) -> dict[str, str]:
    users = json.loads(Path(path).read_text())["users"]
    return {str(name): str(password) for name, password in users.items()}


def server_config(passwords: dict[str, str], max_payload: int) -> str:
    return f"max_payload: {max_payload}\n" + authorization_block(quoted(passwords))


def url_with_identity(url: str, user: str, password: str) -> str:
    """`nats://user:password@host:port`: what tools and tests connect with."""
    parts = urlsplit(url)
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def admin_url(url: str, passwords: dict[str, str]) -> str:
    return url_with_identity(url, ADMIN, passwords[ADMIN])
