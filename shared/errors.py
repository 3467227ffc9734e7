"""One error hierarchy for the whole platform.

Every expected failure is an `AtelierError` carrying its HTTP status. Services raise them, the RPC
layer carries them as typed error replies (a problem document), and the gateway renders them as
RFC 9457 problem+json. Anything else is a bug: logged with its request id, shown as a generic 500.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "https://atelier.dev/problems/"


class AtelierError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.title
        self.errors = errors
        self.extra = extra or {}
        self.headers = headers or {}
        super().__init__(self.detail)

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": PROBLEM_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            doc["errors"] = self.errors
        if instance:
            doc["instance"] = instance
        doc.update({k: v for k, v in self.extra.items() if k not in doc})  # never overrides status or type
        return doc


class BadRequest(AtelierError):
    status, code, title = 400, "bad-request", "Bad request"


class Unauthorized(AtelierError):
    status, code, title = 401, "unauthorized", "Authentication required"


class PaymentRequired(AtelierError):
    status, code, title = 402, "payment-required", "Not enough credits"


class Forbidden(AtelierError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(AtelierError):
    status, code, title = 404, "not-found", "Not found"


class MethodNotAllowed(AtelierError):
    status, code, title = 405, "method-not-allowed", "Method not allowed"


class Conflict(AtelierError):
    status, code, title = 409, "conflict", "Conflict"


class Gone(AtelierError):
    status, code, title = 410, "gone", "Gone"


class PayloadTooLarge(AtelierError):
    status, code, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(AtelierError):
    status, code, title = 415, "unsupported-media-type", "Unsupported media type"


class Unprocessable(AtelierError):
    status, code, title = 422, "validation", "Validation failed"


class TooManyRequests(AtelierError):
    status, code, title = 429, "rate-limited", "Too many requests"


class ServiceUnavailable(AtelierError):
    """A dependency is down or unreachable right now: worth retrying soon (`Retry-After`)."""

    status, code, title = 503, "unavailable", "Service unavailable"
    RETRY_AFTER_S: ClassVar[int] = 1

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("Retry-After", str(self.RETRY_AFTER_S))


class GatewayTimeout(AtelierError):
    status, code, title = 504, "timeout", "Upstream timed out"


_BY_STATUS: dict[int, type[AtelierError]] = {
    cls.status: cls
    for cls in (
        BadRequest, Unauthorized, PaymentRequired, Forbidden, NotFound, MethodNotAllowed, Conflict, Gone,
        PayloadTooLarge, UnsupportedMediaType, Unprocessable, TooManyRequests, ServiceUnavailable, GatewayTimeout,
    )
}


def error_from_problem(doc: dict[str, Any]) -> AtelierError:
    """Rebuild a typed error from a problem document received over the wire."""
    status = int(doc.get("status") or 500)
    cls = _BY_STATUS.get(status, AtelierError)
    known = {"type", "title", "status", "detail", "errors", "instance"}
    extra = {k: v for k, v in doc.items() if k not in known}
    # Headers do not travel in a problem document; a `retry_after_s` member stands for Retry-After.
    retry_after = extra.get("retry_after_s")
    headers = {"Retry-After": str(retry_after)} if isinstance(retry_after, int) and retry_after >= 0 else None
    return cls(doc.get("detail"), errors=doc.get("errors"), extra=extra, headers=headers)


def validation_errors(exc: Any) -> list[dict[str, Any]]:
    """Turn a pydantic ValidationError into the `errors` member of a 422 problem."""
    out = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        out.append({"field": loc or None, "message": err.get("msg", "invalid"), "type": err.get("type")})
    return out
