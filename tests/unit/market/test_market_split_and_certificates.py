"""The payment split (integer credits, exact sums) and licence certificates (any changed byte fails)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.market.certificates import Signer, load_key
from services.market.settings import MarketSettings
from services.market.split import split_payment


def test_split_by_images_with_the_remainder_to_the_owner() -> None:
    # 40 credits, 50 % to contributors: pool 20 over 8 images (owner 6, ana 1, bo 1) -> 15, 2, 2 + 1 remainder.
    parts = split_payment(40, 50, "owner", {"owner": 6, "ana": 1, "bo": 1})
    assert parts == {"ana": 2, "bo": 2, "owner": 36}
    assert sum(parts.values()) == 40


@pytest.mark.parametrize("charged", [0, 1, 7, 99, 1000])
@pytest.mark.parametrize("share", [0, 1, 33, 100])
def test_parts_always_sum_to_the_payment(charged: int, share: int) -> None:
    parts = split_payment(charged, share, "o", {"a": 3, "b": 5, "c": 7})
    assert sum(parts.values()) == charged and all(v > 0 for v in parts.values())


def test_no_training_record_pays_the_owner_alone() -> None:
    assert split_payment(12, 80, "o", {}) == {"o": 12}


def test_bad_share_is_refused() -> None:
    with pytest.raises(ValueError):
        split_payment(10, 101, "o", {})


def test_certificate_verifies_and_every_changed_byte_fails() -> None:
    signer = Signer(Ed25519PrivateKey.generate())
    claims = {"jti": "L1", "iat": 1, "work_id": "w", "licensor_id": "a", "licensee_id": "b", "scope": "personal",
              "price": 5}
    token = signer.sign(claims)
    checked, reason = signer.verify(token)
    assert reason is None and checked is not None and checked["work_id"] == "w" and checked["price"] == 5
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i, ch in enumerate(token):
        if ch == ".":
            continue
        changed = token[:i] + alphabet[(alphabet.index(ch) + 1) % 64] + token[i + 1:]
        assert signer.verify(changed)[0] is None, f"a change at {i} still verified"
    other = Signer(Ed25519PrivateKey.generate())
    assert other.verify(token)[0] is None


def test_development_key_is_generated_once_and_private(tmp_path: Path) -> None:
    settings = MarketSettings(state_dir=tmp_path)
    first = load_key(settings)
    assert (settings.licence_key_file.stat().st_mode & 0o777) == 0o600
    assert Signer(load_key(settings)).jwk == Signer(first).jwk


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c", "..", "eyJhbGciOiJub25lIn0.eyJ4IjoxfQ.", "e30.W10.c2ln",
                                   "eyJhbGciOiJFZERTQSJ9.bm90IGpzb24.AAAA"])
def test_garbage_is_not_valid_and_raises_nothing(token: str) -> None:
    claims, reason = Signer(Ed25519PrivateKey.generate()).verify(token)
    assert claims is None and reason
