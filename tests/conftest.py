"""Session fixtures: the real embedded stack (NATS JetStream, PostgreSQL, S3 store, Triton) and
the five services, started once on free loopback ports and stopped by pid at the end.

- `stack`: the started `EmbeddedStack`; `endpoints`: its `Endpoints`.
- `platform`: all services running against it; maps service name -> base URL.
- `gateway_url`: the public edge of `platform`.
- `nc` / `js`: a NATS connection for a test (function-scoped).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

SERVICE_ORDER = ["community", "assets", "trainer", "inference", "webhooks", "market", "gateway"]
# The account the moderation tests sign in as (the services read this when the platform starts).
MODERATOR = "e2e_moderator"
os.environ["ATELIER_MODERATORS"] = f"mira,{MODERATOR}"
# Every RPC answer is checked against its contract's response model while the suite runs.
os.environ["ATELIER_RPC_CHECK_RESPONSES"] = "1"
# The suite signs up hundreds of users from one address; the sign-up limit per client is tested
# with its own gateway and a low limit (tests/e2e/test_signup_limit.py).
os.environ.setdefault("ATELIER_SIGNUP_PER_CLIENT", "100000")
# Webhooks: a short retry schedule and attempt timeout, so retries and disabling happen in seconds.
os.environ.setdefault("ATELIER_WEBHOOKS_RETRY_SCHEDULE_S", "0.5,0.5,0.5,0.5")
os.environ.setdefault("ATELIER_WEBHOOKS_DELIVERY_TIMEOUT_S", "2")
# Suggestions are recomputed after every like (not at most every 10 minutes), so a suggestion's
# event follows the like that made it credible.
os.environ.setdefault("ATELIER_SUGGESTIONS_ANNOUNCE_INTERVAL_S", "0")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from deploy.local.stack import EmbeddedStack

    state = Path(os.environ.get("ATELIER_TEST_STATE_DIR") or tmp_path_factory.mktemp("atelier-state"))
    embedded = EmbeddedStack(state, with_triton=True)
    try:
        embedded.start()
        yield embedded
    finally:
        embedded.destroy()  # stops every process by pid and removes the session's data


@pytest.fixture(scope="session")
def endpoints(stack: object) -> object:
    return stack.endpoints  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def platform(stack: object) -> dict[str, str]:
    from deploy.local.services import existing_services

    names = [n for n in SERVICE_ORDER if n in existing_services()]
    return stack.start_services(names, gateway_port=0)  # type: ignore[attr-defined, no-any-return]


@pytest.fixture(scope="session")
def gateway_url(platform: dict[str, str]) -> str:
    return platform["gateway"]


@pytest.fixture
async def nc(endpoints: object) -> AsyncIterator[object]:
    from shared.messaging.connection import connect

    client = await connect(endpoints.nats_url, name="atelier-tests")  # type: ignore[attr-defined]
    try:
        yield client
    finally:
        await client.drain()


@pytest.fixture
async def js(nc: object) -> object:
    from shared.messaging.streams import ensure_streams

    context = nc.jetstream(timeout=5.0)  # type: ignore[attr-defined]
    await ensure_streams(context)
    return context
