"""Tokens issued by community verify at the gateway with the public key, and only there."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.community.tokens import TokenIssuer, load_private_key
from services.gateway.auth import verify_token
from shared.errors import Unauthorized


def _key_files(tmp_path: Path) -> tuple[Path, str]:
    key = Ed25519PrivateKey.generate()
    private = tmp_path / "jwt.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def test_gateway_accepts_a_community_token(tmp_path: Path) -> None:
    private, public = _key_files(tmp_path)
    token = TokenIssuer(load_private_key(private), ttl_s=600).issue("01J0000000000000000000000A", "ada")
    user = verify_token(token, public)
    assert (user.id, user.username) == ("01J0000000000000000000000A", "ada")


def test_expired_token_is_refused(tmp_path: Path) -> None:
    private, public = _key_files(tmp_path)
    token = TokenIssuer(load_private_key(private), ttl_s=60).issue("u1", "ada", now=time.time() - 3600)
    with pytest.raises(Unauthorized, match="expired"):
        verify_token(token, public)


def test_token_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    private, _ = _key_files(tmp_path)
    (tmp_path / "other").mkdir()
    _, other_public = _key_files(tmp_path / "other")
    token = TokenIssuer(load_private_key(private), ttl_s=600).issue("u1", "ada")
    with pytest.raises(Unauthorized):
        verify_token(token, other_public)


def test_missing_key_file_is_a_clear_start_error() -> None:
    with pytest.raises(RuntimeError, match="ATELIER_JWT_PRIVATE_KEY_FILE"):
        load_private_key(None)
