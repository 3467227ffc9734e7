"""The resume cursor a client sees as the CloudEvents `sequence` attribute.

Each event stream has its own sequence, so one position is a map of stream → last sequence
examined for this connection, written compactly and in a fixed order:

    "COMMUNITY=120,INFERENCE=7,TRAINER=33"

A client stores the `sequence` of the last event it received and sends it back as `since` when it
reconnects; the server replays each stream from the next sequence. A stream missing from the
cursor starts at its current end. Positions only grow, so cursors of one stream are comparable.
"""

from __future__ import annotations

import re

LIVE_STREAMS = ("COMMUNITY", "INFERENCE", "TRAINER")
MAX_CURSOR_LENGTH = 512
_PART = re.compile(r"^([A-Z][A-Z0-9_]{0,31})=(\d{1,19})$")


class BadCursor(ValueError):
    """The `since` value is not a cursor this server wrote."""


def encode_cursor(positions: dict[str, int]) -> str:
    return ",".join(f"{stream}={positions[stream]}" for stream in sorted(positions))


def decode_cursor(text: str) -> dict[str, int]:
    if not isinstance(text, str) or not text or len(text) > MAX_CURSOR_LENGTH:
        raise BadCursor("`since` must be the `sequence` string of an event received earlier")
    positions: dict[str, int] = {}
    for part in text.split(","):
        match = _PART.fullmatch(part.strip())
        if not match:
            raise BadCursor(f"bad cursor part {part[:40]!r}: expected STREAM=number")
        stream, seq = match.group(1), int(match.group(2))
        if stream not in LIVE_STREAMS:
            raise BadCursor(f"unknown stream {stream!r} in cursor")
        if stream in positions:
            raise BadCursor(f"stream {stream} appears twice in cursor")
        positions[stream] = seq
    return positions
