"""Fixtures of the integration tests that need servers of their own beside the session stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.nats import RestartableNats


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[RestartableNats]:
    """A private nats-server this test may stop and start again."""
    server = RestartableNats(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
