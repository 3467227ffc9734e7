"""Bearer JWT verification at the edge. Only community holds the signing key; the gateway checks
tokens locally with the public key (EdDSA), so no request pays an RPC to authenticate.

A client sends the same token with every request until it expires, and an Ed25519 signature check
is the largest single cost of a cheap read; `TokenVerifier` therefore remembers tokens it verified
(a bounded LRU keyed by the exact token text) and re-checks only their expiry on later requests.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from aiohttp.typedefs import Handler
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from services.gateway.revocations import Revocations
from shared.errors import Unauthorized
from shared.logging import bind_context

ISSUER = "atelier"
ALGORITHMS = ["EdDSA"]
_INVALID_TOKEN = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


@dataclass(frozen=True)
class AuthUser:
    id: str
    username: str
    expires_at: float  # the token's `exp`, seconds since the epoch
    issued_ms: int = 0  # the token's `iat_ms` (or `iat` * 1000): compared with a password change


USER: web.RequestKey[AuthUser | None] = web.RequestKey("user")


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


class TokenVerifier:
    """Verifies community's tokens with its public key; remembers up to `cache_size` verified ones."""

    def __init__(self, public_key_pem: str, *, cache_size: int = 50_000,
                 revocations: Revocations | None = None) -> None:
        try:
            key = load_pem_public_key(public_key_pem.encode())
        except ValueError:
            key = None
        if not isinstance(key, Ed25519PublicKey):
            raise RuntimeError("ATELIER_JWT_PUBLIC_KEY_FILE must hold an Ed25519 public key (PEM)")
        self._key = key
        self._cache_size = cache_size
        self._verified: OrderedDict[str, AuthUser] = OrderedDict()
        # Deleted users and password changes, learnt from events (revocations.py): checked on every
        # use of a token, cached or not, on every path (REST and the WebSocket alike).
        self.revocations = revocations

    def verify(self, token: str, *, now: float | None = None) -> AuthUser:
        now = time.time() if now is None else now
        user = self._verified.get(token)
        if user is None:
            user = self._decode(token)
            self._verified[token] = user
            if len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        else:
            self._verified.move_to_end(token)
        if user.expires_at <= now:
            self._verified.pop(token, None)
            raise Unauthorized("the token has expired", headers=_INVALID_TOKEN)
        if self.revocations is not None:
            reason = self.revocations.refusal(user.id, user.issued_ms)
            if reason is not None:
                raise Unauthorized(f"the token was revoked: {reason}", headers=_INVALID_TOKEN)
        return user

    def _decode(self, token: str) -> AuthUser:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._key, algorithms=ALGORITHMS, issuer=ISSUER,
                options={"require": ["sub", "exp", "iat", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired", headers=_INVALID_TOKEN) from None
        except jwt.InvalidTokenError:
            raise Unauthorized("the token is not valid", headers=_INVALID_TOKEN) from None
        issued_ms = claims.get("iat_ms")
        if not isinstance(issued_ms, int) or isinstance(issued_ms, bool):
            issued_ms = int(claims["iat"]) * 1000
        return AuthUser(id=str(claims["sub"]), username=str(claims.get("username", "")),
                        expires_at=float(claims["exp"]), issued_ms=issued_ms)


VERIFIER = web.AppKey("token_verifier", TokenVerifier)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the caller (or None); a present but bad, expired or revoked token is always a 401."""
    token = token_from_request(request)
    user = request.app[VERIFIER].verify(token) if token else None
    request[USER] = user
    if user:
        bind_context(actor_id=user.id)
    return await handler(request)


def current_user(request: web.Request) -> AuthUser | None:
    user: AuthUser | None = request.get(USER)
    return user


def require_user(request: web.Request) -> AuthUser:
    user = current_user(request)
    if user is None:
        raise Unauthorized("sign in first: this endpoint needs a bearer token", headers={"WWW-Authenticate": "Bearer"})
    return user
