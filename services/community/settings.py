"""Settings of the community service (`ATELIER_*` environment variables)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import DatabaseSettings, ServiceSettings


class CommunitySettings(ServiceSettings, DatabaseSettings):
    service_name: str = "community"
    http_port: int = Field(8081, ge=0, le=65535)
