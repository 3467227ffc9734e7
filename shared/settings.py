"""Settings base classes. Every value comes from `ATELIER_*` environment variables.

Each service subclasses `ServiceSettings` (plus the mixins for what it uses) in its own
`settings.py`, builds it in `__main__` and passes it down; nothing reads the environment later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.shutdown import ShutdownBudget


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ATELIER_", extra="ignore", frozen=True)

    service_name: str = "atelier"
    environment: Literal["development", "production"] = "development"
    log_level: str = "info"
    # None: JSON in production, readable console output in development.
    log_format: Literal["json", "console"] | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(8081, ge=0, le=65535)
    state_dir: Path = Path(".atelier")

    # tls://... for TLS (see nats_tls_ca_file); a cluster: its servers' URLs, comma-separated.
    nats_url: str = "nats://127.0.0.1:4222"
    # Copies JetStream keeps of each stream and KV bucket it creates: 1 on one server, 3 on a
    # 3-node cluster (the local cluster mode, ATELIER_REPLICAS=2, sets it).
    nats_replicas: int = Field(1, ge=1, le=5)
    nats_connect_timeout_s: float = 5.0
    # This process's NATS identity (shared/messaging/permissions.py). Unset: connect without
    # credentials, as to a server that has none configured.
    nats_user: str = ""
    nats_password: SecretStr = SecretStr("")
    # Reply subjects' prefix; empty: `_INBOX_<nats_user>` with a user (the only inbox its
    # permissions let it read), nats-py's `_INBOX` without one.
    nats_inbox_prefix: str = ""
    # CA bundle that signed the NATS server's certificate (tls:// URLs); unset: the system CAs.
    nats_tls_ca_file: Path | None = None
    # Create or update the platform's JetStream streams at start-up (needs an identity allowed to
    # manage streams). The local stack and Kubernetes turn it off: the admin identity does it.
    nats_manage_streams: bool = True
    # `--migrate-only` also creates or updates the streams (Kubernetes: community's init container,
    # running as the admin identity).
    nats_migrate_streams: bool = False
    rpc_timeout_s: float = 10.0
    # Requests of one operation an instance handles at once (each in its own task); more wait.
    rpc_concurrency: int = Field(64, ge=1, le=4096)
    # Validate every RPC answer against its declared response model (tests and development).
    rpc_check_responses: bool = False
    publish_timeout_s: float = 5.0
    # The whole shutdown (stop consumers, drain NATS, close pools) fits in this budget, split into the
    # stages of shared/shutdown.py; Kubernetes' terminationGracePeriodSeconds must be larger (checked).
    shutdown_timeout_s: float = Field(20.0, ge=9.0)

    @property
    def shutdown(self) -> ShutdownBudget:
        return ShutdownBudget(self.shutdown_timeout_s)

    @property
    def json_logs(self) -> bool:
        if self.log_format is not None:
            return self.log_format == "json"
        return self.environment == "production"


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ATELIER_", extra="ignore", frozen=True)

    database_url: str = "postgresql://postgres@127.0.0.1:5432/atelier"
    db_pool_min: int = Field(1, ge=0)
    db_pool_max: int = Field(10, ge=1)
    db_command_timeout_s: float = 10.0
    db_connect_timeout_s: float = 5.0


class S3Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ATELIER_", extra="ignore", frozen=True)

    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = "atelier"
    s3_secret_key: SecretStr = SecretStr("atelier-secret")
    s3_bucket: str = "atelier"
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    s3_timeout_s: float = 30.0


class TritonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ATELIER_", extra="ignore", frozen=True)

    triton_url: str = "127.0.0.1:8001"  # gRPC
    triton_http_url: str = "127.0.0.1:8000"
    # Sent as the `admin-key` header to Triton's restricted model-repository API.
    triton_admin_token: SecretStr = SecretStr("")
    triton_timeout_s: float = 30.0
