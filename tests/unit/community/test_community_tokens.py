"""Tokens issued by community verify at the gateway with the public key, and only there."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.community.tokens import TokenIssuer, load_private_key
from services.gateway.auth import TokenVerifier
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
    user = TokenVerifier(public).verify(token)
    assert (user.id, user.username) == ("01J0000000000000000000000A", "ada")


def test_expired_token_is_refused(tmp_path: Path) -> None:
    private, public = _key_files(tmp_path)
    token = TokenIssuer(load_private_key(private), ttl_s=60).issue("u1", "ada", now=time.time() - 3600)
    with pytest.raises(Unauthorized, match="expired"):
        TokenVerifier(public).verify(token)


def test_token_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    private, _ = _key_files(tmp_path)
    (tmp_path / "other").mkdir()
    _, other_public = _key_files(tmp_path / "other")
    token = TokenIssuer(load_private_key(private), ttl_s=600).issue("u1", "ada")
    with pytest.raises(Unauthorized):
        TokenVerifier(other_public).verify(token)


def test_a_remembered_token_still_expires(tmp_path: Path) -> None:
    private, public = _key_files(tmp_path)
    verifier = TokenVerifier(public)
    token = TokenIssuer(load_private_key(private), ttl_s=60).issue("u1", "ada")
    assert verifier.verify(token).id == "u1"
    assert verifier.verify(token).id == "u1"  # served from memory now
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(token, now=time.time() + 120)


def test_a_changed_token_is_verified_again_not_served_from_memory(tmp_path: Path) -> None:
    private, public = _key_files(tmp_path)
    verifier = TokenVerifier(public)
    token = TokenIssuer(load_private_key(private), ttl_s=600).issue("u1", "ada")
    verifier.verify(token)
    header, payload, signature = token.split(".")
    forged_payload = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    with pytest.raises(Unauthorized):
        verifier.verify(f"{header}.{forged_payload}.{signature}")


def test_memory_of_verified_tokens_is_bounded(tmp_path: Path) -> None:
    private, public = _key_files(tmp_path)
    issuer = TokenIssuer(load_private_key(private), ttl_s=600)
    verifier = TokenVerifier(public, cache_size=3)
    tokens = [issuer.issue(f"u{i}", f"user{i}") for i in range(5)]
    assert [verifier.verify(t).id for t in tokens] == ["u0", "u1", "u2", "u3", "u4"]
    assert len(verifier._verified) == 3


def test_a_non_ed25519_key_is_a_clear_start_error() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with pytest.raises(RuntimeError, match="Ed25519"):
        TokenVerifier(pem)
    with pytest.raises(RuntimeError, match="Ed25519"):
        TokenVerifier("not a key at all")


def test_missing_key_file_is_a_clear_start_error() -> None:
    with pytest.raises(RuntimeError, match="ATELIER_JWT_PRIVATE_KEY_FILE"):
        load_private_key(None)
