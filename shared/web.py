"""aiohttp scaffolding shared by every service: request ids, problem+json, metrics, ops routes."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong
from aiohttp.typedefs import Handler
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from shared.errors import PROBLEM_BASE, AtelierError
from shared.ids import new_id
from shared.logging import bound_context, get_logger
from shared.outages import as_unavailable

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

ReadinessCheck = Callable[[], Awaitable[bool]]
READINESS_CHECKS = web.AppKey("readiness_checks", dict[str, ReadinessCheck])
# Reported by /readyz for operators but not deciding readiness (e.g. the gateway's view of the
# services behind it: one of them being down must not take the whole edge out of rotation).
ReadinessReport = Callable[[], Awaitable[Any]]
READINESS_REPORTS = web.AppKey("readiness_reports", dict[str, ReadinessReport])
REQUEST_ID = web.RequestKey("request_id", str)

HTTP_REQUESTS = Counter("atelier_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "atelier_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

_STATUS_CODES = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
                 405: "method-not-allowed", 409: "conflict", 413: "payload-too-large", 414: "uri-too-long",
                 431: "header-fields-too-large",
                 415: "unsupported-media-type", 422: "validation", 429: "rate-limited"}


def problem_response(
    status: int, title: str, detail: str, *, code: str | None = None,
    errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> web.Response:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (code or _STATUS_CODES.get(status, "error")),
        "title": title, "status": status, "detail": detail,
    }
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    resp = web.json_response(body, status=status, headers=headers, content_type=PROBLEM_JSON)
    return resp


def error_response(exc: AtelierError) -> web.Response:
    doc = exc.to_problem()
    return web.json_response(doc, status=exc.status, headers=exc.headers, content_type=PROBLEM_JSON)


@web.middleware
async def request_context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = incoming if _VALID_REQUEST_ID.fullmatch(incoming) else new_id()
    request[REQUEST_ID] = request_id
    with bound_context(request_id=request_id):
        response = await handler(request)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every error as RFC 9457 problem+json; never leak a traceback."""
    try:
        return await handler(request)
    except AtelierError as exc:
        if exc.status >= 500:
            log.warning("http.upstream_error", status=exc.status, detail=exc.detail, path=request.path)
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        reason = exc.reason or "Error"
        detail = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else reason
        return problem_response(exc.status, reason, detail, headers={
            k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after", "www-authenticate")
        })
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception as exc:
        unavailable = as_unavailable(exc)
        if unavailable is not None:  # NATS, the database or a peer is down: retry soon, not a bug
            log.warning("http.dependency_unavailable", error=type(exc).__name__, detail=str(exc)[:200],
                        path=request.path)
            return error_response(unavailable)
        log.exception("http.unhandled", path=request.path, method=request.method)
        return problem_response(500, "Internal error", "An unexpected error occurred.", code="internal")


_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


@web.middleware
async def observe_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Each request timed once: one `http.access` line (its id is bound by
    `request_context_middleware`: method, path, status, milliseconds; probes and scrapes at debug
    level) and the request counter and latency histogram by route."""
    started = time.perf_counter()
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away before the answer
        raise
    finally:
        elapsed = time.perf_counter() - started
        emit = log.debug if request.path in _QUIET_PATHS else log.info
        emit("http.access", method=request.method, path=request.path, status=status, ms=round(elapsed * 1000, 1))
        HTTP_REQUESTS.labels(request.method, route, str(status)).inc()
        HTTP_LATENCY.labels(request.method, route).observe(elapsed)


def standard_middlewares() -> list[Any]:
    # Order matters: ids first (so errors and the access line carry them), then the access log and
    # metrics, then error rendering.
    return [request_context_middleware, observe_middleware, problem_middleware]


def add_readiness_check(app: web.Application, name: str, check: ReadinessCheck) -> None:
    app[READINESS_CHECKS][name] = check


def add_readiness_report(app: web.Application, name: str, report: ReadinessReport) -> None:
    app[READINESS_REPORTS][name] = report


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    checks = request.app[READINESS_CHECKS]

    async def run(check: ReadinessCheck) -> bool:
        try:
            return bool(await asyncio.wait_for(check(), 2.0))
        except Exception:
            return False

    results = dict(zip(checks, await asyncio.gather(*(run(c) for c in checks.values())), strict=True))
    ok = all(results.values())
    body: dict[str, Any] = {"status": "ready" if ok else "unavailable", "checks": results}
    reports = request.app[READINESS_REPORTS]
    if reports:
        outcomes = await asyncio.gather(*(asyncio.wait_for(r(), 2.0) for r in reports.values()),
                                        return_exceptions=True)
        body["reports"] = {name: None if isinstance(out, BaseException) else out
                           for name, out in zip(reports, outcomes, strict=True)}
    return web.json_response(body, status=200 if ok else 503)


async def metrics(_: web.Request) -> web.Response:
    resp = web.Response(body=generate_latest())
    resp.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return resp


def _protocol_error_status(exc: BaseException | None, status: int) -> tuple[int, str, str]:
    """Status, title and detail for a request aiohttp could not parse (before any middleware ran)."""
    if isinstance(exc, LineTooLong):
        shown = str(exc).partition("reading: ")[2]
        if shown.startswith(("bytearray(b'/", "b'/", "bytearray(b'http", "b'http")):
            return 414, "URI too long", "the request line is longer than this server accepts"
        return 431, "Request header fields too large", "a request header is longer than this server accepts"
    if isinstance(exc, BadHttpMessage) and "too many headers" in str(exc).lower():
        return 431, "Request header fields too large", "the request has more headers than this server accepts"
    if status >= 500:
        return 500, "Internal error", "An unexpected error occurred."
    return 400, "Bad request", "the request is not valid HTTP"


def _problem_error_page(self: RequestHandler, request: BaseRequest, status: int = 500,
                        exc: BaseException | None = None, message: str | None = None) -> web.StreamResponse:
    """aiohttp's own error page for unparseable requests, as problem+json, logged in one bounded line."""
    status, title, detail = _protocol_error_status(exc, status)
    if status >= 500:
        log.error("http.protocol_error", status=status, error=type(exc).__name__ if exc else None, exc_info=exc)
    else:
        log.info("http.malformed_request", status=status, reason=(str(exc) if exc else message or "")[:160])
    if request.writer is not None and request.writer.output_size > 0:
        raise ConnectionError("response already started, cannot send the error page")
    body = {"type": PROBLEM_BASE + _STATUS_CODES.get(status, "bad-request"), "title": title, "status": status,
            "detail": detail}
    resp = web.Response(status=status, body=orjson.dumps(body), content_type=PROBLEM_JSON)
    resp.force_close()
    return resp


def install_protocol_error_pages() -> None:
    """Answer requests that aiohttp cannot parse (line or headers too long, broken framing) with a
    problem document (414/431/400) instead of its text/plain page. Idempotent; every service calls it."""
    RequestHandler.handle_error = _problem_error_page  # type: ignore[method-assign]


def create_base_app(*, client_max_size: int = 1024**2, middlewares: list[Any] | None = None,
                    metrics_route: bool = True) -> web.Application:
    """`metrics_route=False`: no `/metrics` here (the gateway serves it on an internal site)."""
    install_protocol_error_pages()
    app = web.Application(middlewares=[*standard_middlewares(), *(middlewares or [])],
                          client_max_size=client_max_size)
    app[READINESS_CHECKS] = {}
    app[READINESS_REPORTS] = {}
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if metrics_route:
        app.router.add_get("/metrics", metrics)
    return app
