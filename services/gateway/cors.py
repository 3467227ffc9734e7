"""CORS for browser clients served from other origins (`ATELIER_CORS_ORIGINS`).

Preflights are answered by a middleware that runs before authentication (browsers never send a
token with them); the headers of real responses are added in `on_response_prepare`, so error
responses rendered by the problem middleware carry them too and the browser can read the 4xx.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from shared.errors import Forbidden

ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE"
ALLOWED_HEADERS = frozenset({"authorization", "content-type", "idempotency-key", "x-request-id"})
EXPOSED_HEADERS = "X-Request-ID, Retry-After, Location, Idempotent-Replayed"


class CorsPolicy:
    def __init__(self, origins: list[str], max_age_s: int = 600) -> None:
        self.any_origin = "*" in origins
        self.origins = frozenset(o.rstrip("/") for o in origins if o != "*")
        self.max_age_s = max_age_s

    @property
    def enabled(self) -> bool:
        return self.any_origin or bool(self.origins)

    def allows(self, origin: str) -> bool:
        return self.any_origin or origin.rstrip("/") in self.origins

    def allow_origin_value(self, origin: str) -> str:
        # No cookies are used (bearer tokens), so "*" is safe when any origin is allowed.
        return "*" if self.any_origin else origin

    def preflight_headers(self, origin: str, requested_headers: str) -> dict[str, str]:
        asked = [h.strip() for h in requested_headers.split(",") if h.strip()]
        refused = [h for h in asked if h.lower() not in ALLOWED_HEADERS]
        if refused:
            raise Forbidden(f"CORS: header(s) not allowed: {', '.join(refused)}")
        return {
            "Access-Control-Allow-Origin": self.allow_origin_value(origin),
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Allow-Headers": ", ".join(asked) if asked else "Authorization, Content-Type",
            "Access-Control-Max-Age": str(self.max_age_s),
            "Vary": "Origin",
        }


def cors_middleware(policy: CorsPolicy) -> Callable[..., object]:
    @web.middleware
    async def cors_preflight(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if request.method != "OPTIONS" or not origin or "Access-Control-Request-Method" not in request.headers:
            return await handler(request)
        if not policy.allows(origin):
            raise Forbidden(f"CORS: origin {origin} is not allowed")
        return web.Response(status=204, headers=policy.preflight_headers(
            origin, request.headers.get("Access-Control-Request-Headers", "")))

    return cors_preflight


def install_cors(app: web.Application, policy: CorsPolicy) -> None:
    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin")
        if not origin or not policy.allows(origin) or "Access-Control-Allow-Origin" in response.headers:
            return
        response.headers["Access-Control-Allow-Origin"] = policy.allow_origin_value(origin)
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if not policy.any_origin:
            response.headers.add("Vary", "Origin")

    app.on_response_prepare.append(add_headers)
