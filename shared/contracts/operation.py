"""An RPC operation, declared once: who serves it, what it takes, what it answers, how it fails.

    WORKS_GET = operation("community", "works.get", WorkRef, Work,
                          summary="A work (someone else's private work is a 404)",
                          actor="optional", problems=(404,))

The serving side registers a handler against the declaration (`RpcServer.serve(WORKS_GET, fn)`),
callers call it through `shared.messaging.rpc.call(nc, WORKS_GET, ...)`, and the gateway binds a
public route to it; the OpenAPI document takes its response schema from `response`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

Req = TypeVar("Req", bound=BaseModel)
Res = TypeVar("Res", bound=BaseModel)

Actor = Literal["required", "optional", "none"]
# Most operations are a few queries. A dead peer no longer costs the whole deadline at the gateway
# (no responders answer at once; the gateway's calls watch the peer and answer 503 within ~2 s), so
# the deadline only has to cover a slow but living service on a busy machine. Slow work (decoding
# uploads, generating, asking other services first) declares its own.
DEFAULT_TIMEOUT_S = 10.0

_OPERATIONS: dict[str, Operation[Any, Any]] = {}


@dataclass(frozen=True)
class Operation(Generic[Req, Res]):
    """`svc.<service>.<name>`: `request` in, `response` out (None: the answer has no body)."""

    service: str
    name: str
    request: type[Req]
    response: type[Res] | None
    summary: str
    # Statuses of the typed errors the handler raises on purpose (the RPC layer adds 422 for a request
    # that does not validate, 401 when `actor` is required and missing, 503/504 for transport trouble).
    problems: tuple[int, ...] = ()
    # "required": the call acts as a user (401 without one); "optional": a user personalises the
    # answer; "none": a service-to-service call that ignores any user.
    actor: Actor = "required"
    timeout_s: float = DEFAULT_TIMEOUT_S
    tags: tuple[str, ...] = field(default=())

    @property
    def subject(self) -> str:
        return f"svc.{self.service}.{self.name}"

    @property
    def all_problems(self) -> tuple[int, ...]:
        extra = {422} | ({401} if self.actor == "required" else set())
        return tuple(sorted(set(self.problems) | extra))

    def __repr__(self) -> str:
        return f"Operation({self.subject})"


def operation(
    service: str,
    name: str,
    request: type[Req],
    response: type[Res] | None,
    *,
    summary: str,
    problems: tuple[int, ...] = (),
    actor: Actor = "required",
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Operation[Req, Res]:
    """Declare an operation and register it; a subject declared twice is a mistake."""
    op = Operation(service, name, request, response, summary, problems, actor, timeout_s)
    if op.subject in _OPERATIONS:
        raise ValueError(f"RPC operation declared twice: {op.subject}")
    _OPERATIONS[op.subject] = op
    return op


def operations(service: str | None = None) -> list[Operation[Any, Any]]:
    """Every declared operation (of one service), in subject order. Import the contract modules first."""
    return [op for subject, op in sorted(_OPERATIONS.items()) if service in (None, op.service)]
