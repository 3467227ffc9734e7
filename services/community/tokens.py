"""Access tokens: EdDSA-signed JWTs that the gateway verifies locally with the public key."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

ISSUER = "atelier"
ALGORITHM = "EdDSA"


def load_private_key(path: Path | None) -> Ed25519PrivateKey:
    if path is None:
        raise RuntimeError("ATELIER_JWT_PRIVATE_KEY_FILE is not set: community cannot issue tokens")
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise RuntimeError(f"{path} is not an Ed25519 private key")
    return key


class TokenIssuer:
    def __init__(self, key: Ed25519PrivateKey, ttl_s: int) -> None:
        self._key = key
        self.ttl_s = ttl_s

    def issue(self, user_id: str, username: str, *, now: float | None = None) -> str:
        """A token for the user. `iat_ms` (the issue time in ms) lets the gateway refuse tokens issued
        before a password change (`community.user.credentials_changed`) without refusing the new one."""
        moment = now if now is not None else time.time()
        issued = int(moment)
        claims = {"sub": user_id, "username": username, "iat": issued, "exp": issued + self.ttl_s, "iss": ISSUER,
                  "iat_ms": round(moment * 1000)}
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)
