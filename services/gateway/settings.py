"""Settings of the gateway (`ATELIER_*` environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

BACKEND_SERVICES = ("community", "assets", "trainer", "inference")


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ATELIER_", extra="ignore", frozen=True, populate_by_name=True)

    service_name: str = "gateway"
    http_port: int = Field(8080, ge=0, le=65535,
                           validation_alias=AliasChoices("ATELIER_GATEWAY_PORT", "ATELIER_HTTP_PORT"))
    public_url: str | None = None
    jwt_public_key_file: Path | None = None
    request_body_max_bytes: int = 1024**2
    upload_max_bytes: int = 20 * 1024**2
    cors_origins: list[str] = []
