"""Settings of the trainer service (`ATELIER_*` environment variables)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import DatabaseSettings, S3Settings, ServiceSettings


class TrainerSettings(ServiceSettings, DatabaseSettings, S3Settings):
    service_name: str = "trainer"
    http_port: int = Field(8083, ge=0, le=65535)
