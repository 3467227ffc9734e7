"""Settings of the assets service (`ATELIER_*` environment variables)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import DatabaseSettings, S3Settings, ServiceSettings


class AssetsSettings(ServiceSettings, DatabaseSettings, S3Settings):
    service_name: str = "assets"
    http_port: int = Field(8082, ge=0, le=65535)
