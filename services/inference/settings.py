"""Settings of the inference service (`ATELIER_*` environment variables)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import DatabaseSettings, S3Settings, ServiceSettings, TritonSettings


class InferenceSettings(ServiceSettings, DatabaseSettings, S3Settings, TritonSettings):
    service_name: str = "inference"
    http_port: int = Field(8084, ge=0, le=65535)
