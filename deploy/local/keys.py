"""Ed25519 key pair that signs (community) and verifies (gateway) the platform's JWTs."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PRIVATE_NAME = "jwt_ed25519.pem"
PUBLIC_NAME = "jwt_ed25519.pub.pem"


def ensure_jwt_keys(state_dir: Path) -> tuple[Path, Path]:
    """Create the key pair once under state_dir/keys/ and reuse it, so tokens survive restarts."""
    keys = state_dir / "keys"
    keys.mkdir(mode=0o700, parents=True, exist_ok=True)
    private, public = keys / PRIVATE_NAME, keys / PUBLIC_NAME
    if private.exists() and public.exists():
        return private, public
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public
