"""Asking another service on a user's behalf: its 404 becomes the market's own 404 (the user cannot
see that work or model), its outage a 503 the client may retry."""

from __future__ import annotations

from typing import Any

from nats.aio.client import Client as NATS

from shared.contracts.operation import Operation
from shared.errors import AtelierError, NotFound, ServiceUnavailable
from shared.messaging.rpc import call


async def ask(nc: NATS, op: Operation[Any, Any], body: dict[str, Any], *, actor_id: str | None, timeout_s: float,
              missing: str, peer: str) -> Any:
    try:
        return await call(nc, op, body, actor_id=actor_id, timeout=timeout_s)
    except NotFound:
        raise NotFound(missing) from None
    except AtelierError as exc:
        if exc.status >= 500:
            raise ServiceUnavailable(f"{peer} cannot be reached; try again") from None
        raise
