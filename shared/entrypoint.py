"""The entry point every service's `__main__` calls."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web

from shared.logging import configure_logging, get_logger
from shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def run_service(
    settings_cls: type[S],
    create_app: Callable[[S], Awaitable[web.Application]],
    *,
    migrate: Callable[[S], Coroutine[Any, Any, None]] | None = None,
) -> None:
    name = settings_cls.model_fields["service_name"].default
    parser = argparse.ArgumentParser(prog=f"python -m services.{name}")
    parser.add_argument("--migrate-only", action="store_true",
                        help="apply database migrations (with ATELIER_NATS_MIGRATE_STREAMS also the JetStream "
                             "streams) and exit")
    args = parser.parse_args()
    settings = settings_cls()  # type: ignore[call-arg]  # every field has a default or comes from env
    configure_logging(settings)
    log = get_logger("service")
    if args.migrate_only:
        if migrate is not None:
            asyncio.run(migrate(settings))
        if settings.nats_migrate_streams:
            from shared.contexts import migrate_streams  # pulls in NATS only when asked

            asyncio.run(migrate_streams(settings))
        log.info("service.migrated", service=settings.service_name)
        return
    log.info("service.starting", service=settings.service_name, port=settings.http_port)
    web.run_app(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        shutdown_timeout=settings.shutdown.http_drain_s,
        access_log=None,
        print=None,
        handle_signals=True,
    )
