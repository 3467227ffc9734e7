"""The JetStream streams of the platform, created or updated idempotently at start-up."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

DAY_S = 24 * 3600
DUPLICATE_WINDOW_S = 120.0

# One stream per producing domain, retained so any subscriber can replay, plus the JOBS queue.
EVENT_STREAMS: dict[str, str] = {
    "COMMUNITY": "community.>",
    "ASSETS": "assets.>",
    "TRAINER": "trainer.>",
    "INFERENCE": "inference.>",
    "WEBHOOKS": "webhooks.>",
    "MARKET": "market.>",
}
JOBS_STREAM = "JOBS"


def stream_configs(*, replicas: int = 1, retention_days: float = 7) -> list[StreamConfig]:
    configs = [
        StreamConfig(
            name=name,
            subjects=[subjects],
            retention=RetentionPolicy.LIMITS,
            max_age=retention_days * DAY_S,
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_S,
            num_replicas=replicas,
            discard=DiscardPolicy.OLD,
        )
        for name, subjects in EVENT_STREAMS.items()
    ]
    configs.append(
        StreamConfig(
            name=JOBS_STREAM,
            subjects=["jobs.>"],
            retention=RetentionPolicy.WORK_QUEUE,
            max_age=retention_days * DAY_S,
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_S,
            num_replicas=replicas,
        )
    )
    return configs


async def ensure_streams(js: JetStreamContext, *, replicas: int = 1) -> None:
    """Create each stream, or bring an existing one in line with its configuration.

    Call timeouts are the JetStream context's (`nc.jetstream(timeout=...)`).
    """
    for config in stream_configs(replicas=replicas):
        assert config.name is not None
        try:
            await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)
