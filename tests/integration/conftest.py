"""Fixtures of the integration tests that need servers of their own beside the session stack."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.support.killable import KillableServices
from tests.support.nats import RestartableNats

# The fault tests' own instances of every service (tests/integration/test_faults_*.py, a pytest
# session of their own in `make test`). The trainer checkpoints every 20 steps, so a kill right
# after the first checkpoint lands mid-training however fast the machine trains.
FAULT_SERVICES = ["community", "assets", "trainer", "inference", "webhooks", "market", "gateway"]
CHECKPOINT_EVERY = 20


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[RestartableNats]:
    """A private nats-server this test may stop and start again."""
    server = RestartableNats(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def fault_platform(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KillableServices]:
    """Every service as a process the fault tests may SIGKILL and start again (started once for
    all of them: each start of seven services costs seconds of a 2-core box)."""
    platform = KillableServices(stack, tmp_path_factory.mktemp("fault-logs"),
                                {"trainer": {"ATELIER_TRAINER_CHECKPOINT_EVERY": str(CHECKPOINT_EVERY)}})
    try:
        platform.start(FAULT_SERVICES)
        yield platform
    finally:
        platform.stop()


@pytest.fixture
async def own_database(endpoints: Any) -> AsyncIterator[str]:
    """A private database on the session's PostgreSQL (its URL), dropped afterwards: no service of the
    session's platform works on it, so no other relay drains its outbox and no other worker claims its rows."""
    name = "own_" + secrets.token_hex(6)
    admin = await asyncpg.connect(endpoints.database_url, timeout=10)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        yield endpoints.database_url.rsplit("/", 1)[0] + "/" + name
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await admin.close()
