"""Licence certificates: compact JWS (EdDSA over Ed25519) signed with the platform's licence key.

The key comes from `ATELIER_MARKET_LICENCE_KEY` (PEM) in production; in development it is generated
once under `<state_dir>/market/` (mode 0600). Verification also insists on the canonical base64url
encoding of every segment, so that any changed byte — even one in the unused low bits of the last
character — fails.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import os
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.market.settings import MarketSettings

ISSUER = "atelier"
TYPE = "atelier-licence+jwt"
REQUIRED_CLAIMS = ("iss", "jti", "iat", "work_id", "licensor_id", "licensee_id", "scope", "price")


def load_key(settings: MarketSettings) -> Ed25519PrivateKey:
    pem = settings.market_licence_key.get_secret_value().encode()
    if not pem:
        path = settings.licence_key_file
        path.parent.mkdir(parents=True, exist_ok=True)
        # Replicas starting together share the state dir: one generates, the others read its key.
        with open(path.parent / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not path.exists():
                _generate(path)
            pem = path.read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the licence key must be an Ed25519 private key (PEM)")
    return key


def _generate(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption())
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.replace(tmp, path)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public: Ed25519PublicKey = key.public_key()
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.kid = _b64(raw)[:16]
        self.jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw), "kid": self.kid, "use": "sig", "alg": "EdDSA"}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode({"iss": ISSUER, **claims}, self._key, algorithm="EdDSA",
                          headers={"kid": self.kid, "typ": TYPE})

    def verify(self, token: str) -> tuple[dict[str, Any] | None, str | None]:
        """(claims, None) when it is a certificate this key signed, else (None, why not)."""
        if not _canonical(token):
            return None, "not a compact JWS in canonical base64url (a byte was changed)"
        try:
            claims = jwt.decode(token, self.public, algorithms=["EdDSA"], issuer=ISSUER,
                                options={"require": list(REQUIRED_CLAIMS), "verify_iat": False})
        except (jwt.InvalidTokenError, ValueError, TypeError) as exc:  # whatever fails to check is not valid
            return None, f"the signature or claims do not check: {exc}"
        return dict(claims), None


def _canonical(token: str) -> bool:
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        return False
    for part in parts:
        try:
            decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            return False
        if _b64(decoded) != part:
            return False
    return True
