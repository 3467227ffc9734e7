"""Settings of the webhooks service (`ATELIER_*` environment variables).

- `ATELIER_WEBHOOKS_ALLOW_INSECURE` (false): allow `http://` URLs and loopback addresses (local
  stack and tests). Production requires https to public addresses.
- `ATELIER_WEBHOOKS_ALLOW_PRIVATE` (false): allow private, link-local, metadata and other
  non-public addresses (a deployment whose receivers live inside its own network).
- `ATELIER_WEBHOOKS_MAX_ENDPOINTS_PER_USER` (10).
- `ATELIER_WEBHOOKS_RETRY_SCHEDULE_S` (5,300,1800,7200,18000,36000,36000 — about 27 hours): the
  wait before each retry, comma-separated; after the last one fails the endpoint is disabled and
  `webhooks.endpoint.disabled` is published. Each wait gets ±`RETRY_JITTER` (0.2) random jitter.
- `ATELIER_WEBHOOKS_DELIVERY_TIMEOUT_S` (10), `..._CONNECT_TIMEOUT_S` (3): per attempt.
- `ATELIER_WEBHOOKS_MAX_CONCURRENT` (64) attempts at once per process,
  `ATELIER_WEBHOOKS_PER_ENDPOINT_CONCURRENCY` (4) per endpoint and process.
- `ATELIER_WEBHOOKS_RESPONSE_BODY_MAX` (1024): bytes of a receiver's answer read (and kept, for errors).
- `ATELIER_WEBHOOKS_SECRET_GRACE_S` (86400): the previous secret keeps signing this long after a rotation.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from shared.settings import DatabaseSettings, ServiceSettings

DEFAULT_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


class WebhooksSettings(ServiceSettings, DatabaseSettings):
    service_name: str = "webhooks"
    http_port: int = Field(8085, ge=0, le=65535)

    webhooks_allow_insecure: bool = False
    webhooks_allow_private: bool = False
    webhooks_max_endpoints_per_user: int = Field(10, ge=1, le=10_000)
    webhooks_limit_retry_after_s: int = Field(60, ge=1)  # the Retry-After of the endpoints quota's 429
    webhooks_retry_schedule_s: Annotated[tuple[float, ...], NoDecode] = DEFAULT_SCHEDULE
    webhooks_retry_jitter: float = Field(0.2, ge=0, le=0.5)
    webhooks_delivery_timeout_s: float = Field(10.0, gt=0, le=120)
    webhooks_connect_timeout_s: float = Field(3.0, gt=0, le=60)
    webhooks_dns_timeout_s: float = Field(3.0, gt=0, le=30)
    webhooks_max_concurrent: int = Field(64, ge=1, le=10_000)
    webhooks_per_endpoint_concurrency: int = Field(4, ge=1, le=100)
    webhooks_response_body_max: int = Field(1024, ge=0, le=65536)
    webhooks_secret_grace_s: int = Field(24 * 3600, ge=0, le=7 * 24 * 3600)
    webhooks_poll_interval_s: float = Field(1.0, gt=0, le=60)
    webhooks_claim_batch: int = Field(100, ge=1, le=1000)
    # Kept alive by in_progress heartbeats while a batch of events fans out, so it only bounds how
    # soon a killed instance's unacknowledged events are redelivered (10 s made a crash cost ~10 s).
    webhooks_consumer_ack_wait_s: float = Field(6.0, gt=1)
    # A claimed delivery's lease, renewed every third of it while its attempt runs: a worker that
    # died gives its claims back within this (a lease covering a whole attempt kept them ~43 s).
    webhooks_lease_s: float = Field(6.0, ge=1.5, le=600)

    @field_validator("webhooks_retry_schedule_s", mode="before")
    @classmethod
    def _schedule(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            return tuple(float(p) for p in parts)
        return value

    @field_validator("webhooks_retry_schedule_s")
    @classmethod
    def _positive(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(v < 0 for v in value) or len(value) > 50:
            raise ValueError("retry waits must be >= 0 seconds, at most 50 of them")
        return value

    @property
    def lease_s(self) -> float:
        """How long a claimed delivery stays with its worker, unrenewed, before another may take it."""
        return self.webhooks_lease_s
