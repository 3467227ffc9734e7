"""A consumer that starts while JetStream has no leader yet (a cluster node just restarted) retries
its consumer creation for a while instead of crashing its service."""

from __future__ import annotations

from typing import Any

import pytest
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import ServiceUnavailableError

from shared.messaging.consumer import ConsumerSpec, JetStreamConsumer


class FlakyJetStream:
    """add_consumer fails `failures` times (a timeout, then 503s), then works."""

    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, 0

    async def add_consumer(self, stream: str, config: Any) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise NatsTimeoutError if self.calls == 1 else ServiceUnavailableError()

    async def pull_subscribe_bind(self, durable: str, stream: str) -> object:
        return object()


async def _noop(event: Any) -> None:
    return None


SPEC = ConsumerSpec(stream="COMMUNITY", durable="test-start", filter_subject="community.>")


async def test_start_retries_while_jetstream_is_electing_a_leader() -> None:
    js = FlakyJetStream(failures=3)
    consumer = JetStreamConsumer(object(), js, SPEC, _noop)  # type: ignore[arg-type]
    consumer._run = _noop.__get__(consumer)  # type: ignore[method-assign]  # no fetch loop: no server here
    await consumer.start(ready_within_s=5.0)
    assert js.calls == 4


async def test_start_gives_up_after_its_deadline() -> None:
    js = FlakyJetStream(failures=1000)
    consumer = JetStreamConsumer(object(), js, SPEC, _noop)  # type: ignore[arg-type]
    with pytest.raises((NatsTimeoutError, ServiceUnavailableError)):
        await consumer.start(ready_within_s=0.6)
    assert 2 <= js.calls <= 3
