"""Settings of the gateway (`ATELIER_*` environment variables)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from shared.settings import ServiceSettings

BACKEND_SERVICES = ("community", "assets", "trainer", "inference")


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ATELIER_", extra="ignore", frozen=True, populate_by_name=True)

    service_name: str = "gateway"
    http_port: int = Field(8080, ge=0, le=65535,
                           validation_alias=AliasChoices("ATELIER_GATEWAY_PORT", "ATELIER_HTTP_PORT"))
    public_url: str | None = None
    # The internal site (`/metrics`, `/v1/status`), never on the public port: 0 = a free port.
    internal_enabled: bool = True
    internal_host: str = Field("127.0.0.1", validation_alias=AliasChoices("ATELIER_GATEWAY_INTERNAL_HOST",
                                                                          "ATELIER_INTERNAL_HOST"))
    internal_port: int = Field(0, ge=0, le=65535, validation_alias=AliasChoices("ATELIER_GATEWAY_INTERNAL_PORT",
                                                                                "ATELIER_INTERNAL_PORT"))
    jwt_public_key_file: Path | None = None
    request_body_max_bytes: int = 1024**2
    upload_max_bytes: int = 20 * 1024**2
    # Origins allowed to call the API from a browser: a JSON list or comma-separated; "*" = any.
    cors_origins: Annotated[list[str], NoDecode] = []
    cors_max_age_s: int = 600

    # Token buckets per process: `rate` requests/s refilled, `burst` at most at once. Generous by
    # default (a busy user, a test suite, a benchmark from one address); tighten in production.
    rate_limit_enabled: bool = True
    rate_limit_ip_per_s: float = Field(500.0, gt=0)
    rate_limit_ip_burst: int = Field(1000, ge=1)
    rate_limit_user_per_s: float = Field(100.0, gt=0)
    rate_limit_user_burst: int = Field(300, ge=1)
    rate_limit_max_keys: int = Field(100_000, ge=100)
    # "memory": the buckets above, per process; "nats": fixed windows of `rate_limit_window_s` in the
    # quota KV bucket, shared by every replica (services/gateway/shared_ratelimit.py).
    rate_limit_backend: Literal["memory", "nats"] = "memory"
    rate_limit_window_s: int = Field(10, ge=1, le=3600)
    # Sign-ups per client address per window, shared by replicas (services/gateway/signup_limit.py);
    # 0 turns the limit off. The window is at most an hour (the quota bucket keeps keys two hours).
    signup_per_client: int = Field(20, ge=0)
    signup_window_s: int = Field(3600, ge=1, le=3600)
    # Behind N trusted proxies, the client address is the N-th entry from the right of
    # X-Forwarded-For; 0 trusts no header and uses the peer address.
    forwarded_hops: int = Field(0, ge=0, le=10)

    # Idempotency-Key replay store: "nats" (a JetStream KeyValue bucket shared by all replicas)
    # or "memory" (per process).
    idempotency_backend: Literal["nats", "memory"] = "nats"
    idempotency_bucket: str = "idempotency"
    idempotency_ttl_s: float = Field(24 * 3600.0, ge=60)
    # The lease of a running request's reservation, renewed every third of it while it runs: after a
    # gateway crash a retry with the same key is refused (409) for at most this long.
    idempotency_pending_s: float = Field(6.0, ge=1)
    idempotency_max_response_bytes: int = 256 * 1024

    # Per-user quotas (429 with Retry-After), shared by replicas: "nats" (a JetStream KeyValue
    # bucket) or "memory" (per process: one gateway only). Stored bytes per user are the assets
    # service's (ATELIER_QUOTA_STORED_BYTES_PER_USER there).
    quotas_enabled: bool = True
    quota_backend: Literal["nats", "memory"] = "nats"
    quota_bucket: str = "quotas"
    quota_timeout_s: float = Field(2.0, gt=0)
    quota_uploads_per_hour: int = Field(1000, ge=1)
    quota_images_per_minute: int = Field(600, ge=1)
    quota_websockets_per_user: int = Field(32, ge=1)
    # A WebSocket's slot is renewed every third of this; a replica that dies frees its slots after it.
    quota_ws_lease_s: float = Field(90.0, ge=3)

    # Live events (GET /v1/events).
    ws_heartbeat_s: float = Field(25.0, gt=0)
    ws_send_queue_max: int = Field(256, ge=1)  # frames waiting for a slow client before it is cut off
    ws_catchup_buffer_max: int = Field(10_000, ge=1)  # live events held while a client replays
    ws_replay_max: int = Field(50_000, ge=1)  # events replayed per stream on one resume
    ws_max_connections: int = Field(20_000, ge=1)
    ws_close_timeout_s: float = Field(2.0, gt=0)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value
