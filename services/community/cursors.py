"""Opaque, signed keyset cursors: `base64url(json) . base64url(hmac)`.

A cursor names the listing it belongs to, so one from the trending feed cannot page the newest
works; any tampering, truncation or mix-up is a 400, never a 500 or a silently wrong page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from shared.errors import BadRequest

MAX_LENGTH = 512


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """Decode unpadded base64url, accepting only the one spelling `_b64` produces.

    A lenient decoder ignores the unused low bits of the last character, so several strings
    would decode to the same bytes; refusing all but the canonical one makes every changed
    character of a cursor a 400.
    """
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("not canonical base64url")
    return data


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._secret, body, hashlib.sha256).digest()[:16]

    def encode(self, kind: str, position: list[Any]) -> str:
        body = json.dumps([kind, position], separators=(",", ":")).encode()
        return f"{_b64(body)}.{_b64(self._mac(body))}"

    def decode(self, kind: str, cursor: str | None, shape: tuple[type, ...]) -> list[Any] | None:
        """The position stored in `cursor` (None for the first page); `shape` is each value's type."""
        if cursor is None or cursor == "":
            return None
        invalid = BadRequest("the cursor is not valid for this listing; start again without one")
        if len(cursor) > MAX_LENGTH or cursor.count(".") != 1:
            raise invalid
        body_text, mac_text = cursor.split(".")
        try:
            body, mac = _unb64(body_text), _unb64(mac_text)
        except (ValueError, TypeError):
            raise invalid from None
        if not hmac.compare_digest(mac, self._mac(body)):
            raise invalid
        try:
            found_kind, position = json.loads(body)
        except (ValueError, TypeError):
            raise invalid from None
        if found_kind != kind or not isinstance(position, list) or len(position) != len(shape):
            raise invalid
        for value, expected in zip(position, shape, strict=True):
            ok = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                ok = True
            if not ok:
                raise invalid
        return position


def derive_secret(material: bytes) -> bytes:
    return hmac.new(material, b"atelier-cursor-v1", hashlib.sha256).digest()
