"""Bearer JWT verification at the edge. Only community holds the signing key; the gateway checks
tokens locally with the public key (EdDSA), so no request pays an RPC to authenticate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web

from shared.errors import Unauthorized
from shared.logging import bind_context

ISSUER = "atelier"
ALGORITHMS = ["EdDSA"]
USER = web.RequestKey("user", "AuthUser | None")
PUBLIC_KEY = web.AppKey("jwt_public_key", str)
_INVALID_TOKEN = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


@dataclass(frozen=True)
class AuthUser:
    id: str
    username: str


def load_public_key(path: Path | None) -> str:
    if path is None:
        raise RuntimeError("ATELIER_JWT_PUBLIC_KEY_FILE is not set: the gateway cannot verify tokens")
    return path.read_text()


def token_from_request(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("use 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"})
        return token.strip()
    return None


def verify_token(token: str, public_key: str) -> AuthUser:
    try:
        claims: dict[str, Any] = jwt.decode(
            token, public_key, algorithms=ALGORITHMS, issuer=ISSUER,
            options={"require": ["sub", "exp", "iat", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the token has expired", headers=_INVALID_TOKEN) from None
    except jwt.InvalidTokenError:
        raise Unauthorized("the token is not valid", headers=_INVALID_TOKEN) from None
    return AuthUser(id=str(claims["sub"]), username=str(claims.get("username", "")))


@web.middleware
async def auth_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Attach the caller (or None); a present but bad token is always a 401."""
    token = token_from_request(request)
    user = verify_token(token, request.app[PUBLIC_KEY]) if token else None
    request[USER] = user
    if user:
        bind_context(actor_id=user.id)
    return await handler(request)


def current_user(request: web.Request) -> AuthUser | None:
    return request.get(USER)


def require_user(request: web.Request) -> AuthUser:
    user = request.get(USER)
    if user is None:
        raise Unauthorized("sign in first: this endpoint needs a bearer token", headers={"WWW-Authenticate": "Bearer"})
    return user
