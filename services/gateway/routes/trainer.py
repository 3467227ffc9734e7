"""Public routes served by the trainer service."""

from __future__ import annotations

from typing import Any

from aiohttp import web

OPENAPI_PATHS: dict[str, Any] = {}


def setup(app: web.Application) -> None:
    """Register this module's routes on the gateway."""
