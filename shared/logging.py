"""structlog configuration: JSON in production, readable in development.

Request and correlation ids are bound through contextvars (`bind_context`) so every log line of a
request, in every service it crosses, carries them.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any

import structlog

from shared.settings import ServiceSettings

MAX_TRACEBACK_FRAMES = 12
MAX_TRACEBACK_CHARS = 4000


def bounded_exception(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Render `exc_info` as a short plain traceback: a few innermost frames, no locals, capped in size,
    so that no log line grows with what a client sent (a deep RecursionError is ~1,000 frames)."""
    exc_info = event_dict.pop("exc_info", None)
    if not exc_info:
        return event_dict
    if exc_info is True:
        exc_info = sys.exc_info()
    elif isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if exc_info and exc_info[0] is not None:
        lines = traceback.format_exception(exc_info[0], exc_info[1], exc_info[2], limit=-MAX_TRACEBACK_FRAMES)
        text = "".join(lines)
        if len(text) > MAX_TRACEBACK_CHARS:
            text = "..." + text[-MAX_TRACEBACK_CHARS:]
        event_dict["exception"] = text
    return event_dict


def configure_logging(settings: ServiceSettings) -> None:
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        bounded_exception,
    ]
    renderer: Any
    if settings.json_logs:
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    structlog.configure(
        processors=[*shared_processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=settings.service_name)
    # Libraries that use stdlib logging (aiohttp access log, nats) go to stderr at WARNING+.
    logging.basicConfig(level=max(level, logging.WARNING), stream=sys.stderr, format="%(name)s %(message)s")


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)


bind_context = structlog.contextvars.bind_contextvars
clear_context = structlog.contextvars.clear_contextvars
bound_context = structlog.contextvars.bound_contextvars
get_context = structlog.contextvars.get_contextvars
