"""Identifiers: ULID strings everywhere (sortable by creation time)."""

from __future__ import annotations

import re

from ulid import ULID

_ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def new_id() -> str:
    return str(ULID())


def is_ulid(value: object) -> bool:
    return isinstance(value, str) and bool(_ULID_RE.fullmatch(value.upper()))
