"""A port that someone else took between the launcher picking it and a server binding it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from deploy.local import procs


@contextmanager
def first_pick_taken(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """Listen on a port and make the launcher's next `free_port()` hand it out; yields that port."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = int(squatter.getsockname()[1])
        real_free_port = procs.free_port
        handed_out = iter([taken])
        monkeypatch.setattr(procs, "free_port", lambda: next(handed_out, None) or real_free_port())
        yield taken
