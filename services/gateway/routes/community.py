"""Public routes served by the community service: accounts, works, feeds, collections, insights.

One table drives both the aiohttp routes and their OpenAPI description. Each route validates its
body and query with the community's own pydantic models (the service validates again), then
forwards to `svc.community.<op>` as the authenticated caller.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from services.community import schemas as s
from services.gateway.auth import current_user, require_user
from services.gateway.http import RPC_TIMEOUT, read_body, read_query
from services.gateway.openapi import BEARER, json_content, problem
from shared.contexts import NC
from shared.messaging.rpc import rpc_call_raw

IDEMPOTENCY_KEY = "Idempotency-Key"
_PATH_PARAM = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    op: str
    summary: str
    auth: bool = True  # False: a token is optional (it personalises the answer when present)
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    problems: tuple[int, ...] = field(default=(404, 422))


ROUTES = [
    Route("POST", "/v1/auth/signup", "auth.signup", "Create an account; returns the user and a token",
          auth=False, body=s.SignupBody, status=201, problems=(409, 422)),
    Route("POST", "/v1/auth/login", "auth.login", "Exchange a username or email and password for a token",
          auth=False, body=s.LoginBody, problems=(422,)),
    Route("GET", "/v1/me", "users.me", "Your own profile", problems=()),
    Route("PATCH", "/v1/me", "users.update_me", "Change display name, bio or training consent",
          body=s.ProfilePatch, problems=(422,)),
    Route("GET", "/v1/me/insights", "insights.get",
          "Likes and comments over time, by tag and origin, and palettes of your most liked works", problems=()),
    Route("GET", "/v1/users/{username}", "users.profile", "A user's profile with counts", auth=False),
    Route("PUT", "/v1/users/{username}/follow", "users.follow", "Follow a user (idempotent)", status=204),
    Route("DELETE", "/v1/users/{username}/follow", "users.unfollow", "Stop following (idempotent)", status=204),
    Route("POST", "/v1/works", "works.create", "Publish a work made of your assets", body=s.WorkCreate,
          status=201, problems=(422, 503)),
    Route("GET", "/v1/works", "works.list", "Search and list works (full text, tag, author, origin)",
          auth=False, query=s.WorksQuery, problems=(400, 422)),
    Route("GET", "/v1/works/{id}", "works.get", "A work (someone else's private work is a 404)", auth=False),
    Route("PATCH", "/v1/works/{id}", "works.update", "Edit your work", body=s.WorkPatch,
          problems=(403, 404, 422, 503)),
    Route("DELETE", "/v1/works/{id}", "works.delete", "Delete your work", status=204, problems=(403, 404)),
    Route("PUT", "/v1/works/{id}/like", "works.like", "Like a work (idempotent)", status=204),
    Route("DELETE", "/v1/works/{id}/like", "works.unlike", "Remove your like (idempotent)", status=204),
    Route("POST", "/v1/works/{id}/comments", "works.comment", "Comment on a work (plain text)",
          body=s.CommentBody, status=201),
    Route("GET", "/v1/works/{id}/comments", "works.comments", "Comments, oldest first", auth=False,
          query=s.Page, problems=(400, 404, 422)),
    Route("POST", "/v1/works/{id}/reports", "works.report",
          "Report a work; enough distinct reports hide it from feeds pending review", body=s.ReportBody,
          status=202),
    Route("GET", "/v1/moderation/queue", "moderation.queue",
          "Moderators: works with open reports, hidden first, with the reports", query=s.Page,
          problems=(400, 403, 422)),
    Route("POST", "/v1/works/{id}/moderation", "moderation.decide",
          "Moderators: restore a reported work (closing its reports) or remove it", body=s.ModerationDecision,
          problems=(403, 404, 422)),
    Route("GET", "/v1/feed", "feeds.following", "Newest works of the artists you follow", query=s.Page,
          problems=(400, 422)),
    Route("GET", "/v1/feed/trending", "feeds.trending", "Works ranked by engagement with time decay",
          auth=False, query=s.Page, problems=(400, 422)),
    Route("GET", "/v1/feed/for-you", "feeds.for_you", "Recommended from the tags and artists you like",
          auth=False, query=s.Page, problems=(400, 422)),
    Route("POST", "/v1/collections", "collections.create", "Create an ordered collection of works",
          body=s.CollectionCreate, status=201, problems=(422,)),
    Route("GET", "/v1/collections", "collections.list", "Your collections, or ?owner=username's public ones",
          auth=False, query=s.CollectionsQuery, problems=(400, 404, 422)),
    Route("GET", "/v1/collections/{id}", "collections.get", "A collection with its works", auth=False),
    Route("PATCH", "/v1/collections/{id}", "collections.update", "Edit your collection",
          body=s.CollectionPatch, problems=(403, 404, 422)),
    Route("DELETE", "/v1/collections/{id}", "collections.delete", "Delete your collection", status=204,
          problems=(403, 404)),
]


def _handler(route: Route) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        user = require_user(request) if route.auth else current_user(request)
        payload: dict[str, Any] = dict(request.match_info)
        if route.query is not None:
            payload.update(read_query(request, route.query).model_dump(mode="json", exclude_none=True))
        if route.body is not None:
            body = await read_body(request, route.body)
            # PATCH forwards only what was sent: leaving a field out is not setting it to its default.
            payload.update(body.model_dump(mode="json", exclude_unset=route.method == "PATCH"))
        headers = {}
        if route.method == "POST" and IDEMPOTENCY_KEY in request.headers:
            headers[IDEMPOTENCY_KEY] = request.headers[IDEMPOTENCY_KEY]
        raw = await rpc_call_raw(request.app[NC], "community", route.op, payload,
                                 timeout=request.app[RPC_TIMEOUT], actor_id=user.id if user else None,
                                 headers=headers)
        if route.status == 204:
            return web.Response(status=204)
        extra = {}
        if route.status == 201 and route.path in ("/v1/works", "/v1/collections"):
            result = json.loads(raw)
            if isinstance(result, dict):
                extra["Location"] = f"{route.path}/{result['id']}"
        # The service's JSON goes out as it came: no decode and re-encode on the hot path.
        return web.Response(body=raw, status=route.status, headers=extra, content_type="application/json")

    return handle


def setup(app: web.Application, settings: object = None) -> None:
    """Register this module's routes on the gateway."""
    for route in ROUTES:
        app.router.add_route(route.method, route.path, _handler(route))


# --- OpenAPI -------------------------------------------------------------------------------------

_PROBLEM_TEXT = {400: "Malformed JSON or tampered cursor", 401: "Missing or invalid token",
                 403: "Not yours, or not a moderator", 404: "Not found", 409: "Already taken",
                 415: "Body is not application/json",
                 422: "Validation failed", 503: "A service behind this one is unavailable"}


def _operation(route: Route) -> dict[str, Any]:
    problems = set(route.problems) | ({401} if route.auth else set())
    if route.body is not None:
        problems |= {400, 415, 422}
    op: dict[str, Any] = {
        "summary": route.summary, "operationId": route.op.replace(".", "_"), "tags": ["community"],
        "parameters": [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                       for n in _PATH_PARAM.findall(route.path)],
        "responses": {str(route.status): {"description": "No content" if route.status == 204 else "OK",
                                          **({} if route.status == 204 else
                                             {"content": {"application/json": {"schema": {"type": "object"}}}})}},
    }
    if route.query is not None:
        for name, prop in route.query.model_json_schema()["properties"].items():
            op["parameters"].append({"name": name, "in": "query", "required": False, "schema": prop})
    if route.body is not None:
        op["requestBody"] = {"required": True, "content": json_content(route.body.model_json_schema())}
    if route.auth:
        op["security"] = BEARER
    for status in sorted(problems):
        op["responses"][str(status)] = problem(_PROBLEM_TEXT[status])
    return op


def _openapi_paths() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return paths


OPENAPI_PATHS: dict[str, Any] = _openapi_paths()
