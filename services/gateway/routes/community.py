"""Public routes served by the community service: accounts, works, feeds, collections, insights.

One table bound to the community contract drives both the aiohttp routes and their OpenAPI
description: each route validates its body and query with the contract's models (the service
validates again), then forwards to its operation as the caller.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.gateway import accounts_edge, signup_limit
from services.gateway.openapi import Schemas
from services.gateway.routing import Route, add_routes
from services.gateway.settings import GatewaySettings
from shared.contracts import community as c
from shared.contracts.common import Page

TAG = "community"

ROUTES = [
    Route("POST", "/v1/auth/signup", c.AUTH_SIGNUP, body=c.SignupBody, status=201,
          around=signup_limit.limit_signups),
    Route("POST", "/v1/auth/login", c.AUTH_LOGIN, body=c.LoginBody),
    Route("GET", "/v1/me", c.USERS_ME),
    Route("PATCH", "/v1/me", c.USERS_UPDATE_ME, body=c.ProfilePatch),
    Route("DELETE", "/v1/me", c.USERS_DELETE_ME, body=c.AccountDeleteBody, status=204),
    Route("POST", "/v1/me/password", c.USERS_CHANGE_PASSWORD, body=c.PasswordChangeBody),
    Route("GET", "/v1/me/insights", c.INSIGHTS_GET),
    Route("GET", "/v1/me/suggestions", c.SUGGESTIONS_GET, query=c.SuggestionsQuery),
    Route("GET", "/v1/users/{username}", c.USERS_PROFILE),
    Route("PUT", "/v1/users/{username}/follow", c.USERS_FOLLOW, status=204),
    Route("DELETE", "/v1/users/{username}/follow", c.USERS_UNFOLLOW, status=204),
    Route("POST", "/v1/works", c.WORKS_CREATE, body=c.WorkCreate, status=201, location="/v1/works/{id}"),
    Route("GET", "/v1/works", c.WORKS_LIST, query=c.WorksQuery),
    Route("GET", "/v1/works/{id}", c.WORKS_GET),
    Route("PATCH", "/v1/works/{id}", c.WORKS_UPDATE, body=c.WorkPatch),
    Route("DELETE", "/v1/works/{id}", c.WORKS_DELETE, status=204),
    Route("PUT", "/v1/works/{id}/like", c.WORKS_LIKE, status=204),
    Route("DELETE", "/v1/works/{id}/like", c.WORKS_UNLIKE, status=204),
    Route("POST", "/v1/works/{id}/comments", c.WORKS_COMMENT, body=c.CommentBody, status=201),
    Route("GET", "/v1/works/{id}/comments", c.WORKS_COMMENTS, query=Page),
    Route("POST", "/v1/works/{id}/reports", c.WORKS_REPORT, body=c.ReportBody, status=202),
    Route("GET", "/v1/moderation/queue", c.MODERATION_QUEUE, query=Page),
    Route("POST", "/v1/works/{id}/moderation", c.MODERATION_DECIDE, body=c.ModerationDecision),
    Route("GET", "/v1/feed", c.FEEDS_FOLLOWING, query=Page),
    Route("GET", "/v1/feed/trending", c.FEEDS_TRENDING, query=Page),
    Route("GET", "/v1/feed/for-you", c.FEEDS_FOR_YOU, query=c.ForYouQuery),
    Route("POST", "/v1/collections", c.COLLECTIONS_CREATE, body=c.CollectionCreate, status=201,
          location="/v1/collections/{id}"),
    Route("GET", "/v1/collections", c.COLLECTIONS_LIST, query=c.CollectionsQuery),
    Route("GET", "/v1/collections/{id}", c.COLLECTIONS_GET),
    Route("PATCH", "/v1/collections/{id}", c.COLLECTIONS_UPDATE, body=c.CollectionPatch),
    Route("DELETE", "/v1/collections/{id}", c.COLLECTIONS_DELETE, status=204),
]


# Routes whose handler also passes the client's address (the login guard); documented from the table.
WITH_CLIENT_ADDRESS = {("POST", "/v1/auth/login"), ("DELETE", "/v1/me"), ("POST", "/v1/me/password")}


def streamed_docs(schemas: Schemas) -> dict[tuple[str, str], dict[str, Any]]:
    """The export archive streams: its handler is written by hand."""
    return {("get", accounts_edge.EXPORT_PATH): accounts_edge.export_doc()}


def setup(app: web.Application, settings: GatewaySettings) -> None:
    """Register this module's routes on the gateway."""
    add_routes(app, [r for r in ROUTES if (r.method, r.path) not in WITH_CLIENT_ADDRESS])
    for route in ROUTES:
        if (route.method, route.path) in WITH_CLIENT_ADDRESS:
            app.router.add_route(route.method, route.path,
                                 accounts_edge.with_client_address(route, settings.forwarded_hops))
    app.router.add_get(accounts_edge.EXPORT_PATH, accounts_edge.export)
