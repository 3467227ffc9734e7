"""Revoked tokens: a deleted user's tokens and tokens older than a password change are refused by
the verifier (cached or not), the token issued with the change is not; odd events change nothing;
each revocation closes the user's live sockets whose token it refuses (4401), and no one else's."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.community.tokens import TokenIssuer
from services.gateway.auth import TokenVerifier
from services.gateway.live.ws import CONNECTIONS, REVOKED_CLOSE_CODE, revoked_closer
from services.gateway.revocations import REVOCATIONS, Revocations
from shared.contracts.events.catalog import UserCredentialsChanged, UserDeleted, UserFollowed
from shared.contracts.events.envelope import make_event
from shared.errors import Unauthorized

KEY = Ed25519PrivateKey.generate()
PUBLIC = KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                       serialization.PublicFormat.SubjectPublicKeyInfo).decode()
ISSUER = TokenIssuer(KEY, ttl_s=600)


def _event(payload: object) -> bytes:
    return make_event(payload, service="community", subject_id="x").to_json()  # type: ignore[arg-type]


def _verifier() -> tuple[TokenVerifier, Revocations]:
    revocations = Revocations()
    return TokenVerifier(PUBLIC, revocations=revocations), revocations


def test_a_deleted_users_tokens_are_refused_even_when_cached() -> None:
    verifier, revocations = _verifier()
    token, other = ISSUER.issue("u1", "ada"), ISSUER.issue("u2", "bob")
    assert verifier.verify(token).id == "u1"  # verified once: now in the cache
    revocations.apply(_event(UserDeleted(user_id="u1", username="ada", deleted_at=datetime.now(UTC))))
    with pytest.raises(Unauthorized, match="revoked: this account was deleted"):
        verifier.verify(token)
    with pytest.raises(Unauthorized):
        verifier.verify(ISSUER.issue("u1", "ada"))  # a token minted later for that id too
    assert verifier.verify(other).id == "u2"


def test_a_password_change_refuses_older_tokens_and_keeps_the_new_one() -> None:
    verifier, revocations = _verifier()
    moment = time.time()
    old = ISSUER.issue("u1", "ada", now=moment - 0.005)  # 5 ms before: tokens are compared at millisecond precision
    changed_at = datetime.fromtimestamp(moment, UTC)
    changed_at = changed_at.replace(microsecond=changed_at.microsecond // 1000 * 1000)
    new = ISSUER.issue("u1", "ada", now=changed_at.timestamp())  # as community issues it with the change
    revocations.apply(_event(UserCredentialsChanged(user_id="u1", not_before=changed_at)))
    with pytest.raises(Unauthorized, match="password was changed"):
        verifier.verify(old)
    assert verifier.verify(new).id == "u1"
    # An older change arriving late does not move the bar back.
    revocations.apply(_event(UserCredentialsChanged(user_id="u1", not_before=changed_at - timedelta(hours=1))))
    with pytest.raises(Unauthorized):
        verifier.verify(old)


def test_tokens_without_iat_ms_are_judged_by_iat() -> None:
    verifier, revocations = _verifier()
    now = int(time.time())
    legacy = jwt.encode({"sub": "u1", "iat": now - 10, "exp": now + 60, "iss": "atelier"}, KEY, algorithm="EdDSA")
    assert verifier.verify(legacy).issued_ms == (now - 10) * 1000
    revocations.apply(_event(UserCredentialsChanged(user_id="u1", not_before=datetime.fromtimestamp(now - 5, UTC))))
    with pytest.raises(Unauthorized):
        verifier.verify(legacy)


@pytest.mark.parametrize("raw", [b"not json", b"{}", _event(UserFollowed(follower_id="u1", followee_id="u2"))])
def test_other_or_malformed_events_revoke_nothing(raw: bytes) -> None:
    verifier, revocations = _verifier()
    revocations.apply(raw)
    assert revocations.deleted == set() and revocations.not_before_ms == {}
    assert verifier.verify(ISSUER.issue("u1", "ada")).id == "u1"


def test_community_tokens_carry_their_issue_time_in_ms(tmp_path: Path) -> None:
    claims = jwt.decode(ISSUER.issue("u1", "ada", now=1_700_000_000.1234), options={"verify_signature": False})
    assert claims["iat"] == 1_700_000_000 and claims["iat_ms"] == 1_700_000_000_123


class _Conn:
    """What `close_if_revoked` reads and calls on a live connection."""

    def __init__(self, user_id: str, issued_ms: int) -> None:
        self.subscriber = type("S", (), {"user_id": user_id})()
        self.issued_ms = issued_ms
        self.closed_with: tuple[int, str] | None = None

    def request_close(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)


def test_a_revocation_closes_only_the_sockets_whose_token_it_refuses() -> None:
    app = web.Application()
    app[REVOCATIONS] = revocations = Revocations()
    changed_ms = 1_700_000_000_000
    old, renewed, bystander = _Conn("u1", changed_ms - 5), _Conn("u1", changed_ms), _Conn("u2", changed_ms - 5)
    app[CONNECTIONS] = {old, renewed, bystander}  # type: ignore[arg-type]
    revocations.on_revoked(revoked_closer(app))

    revocations.apply(_event(UserCredentialsChanged(user_id="u1",
                                                    not_before=datetime.fromtimestamp(changed_ms / 1000, UTC))))
    assert old.closed_with is not None and old.closed_with[0] == REVOKED_CLOSE_CODE == 4401
    assert "password was changed" in old.closed_with[1]
    assert renewed.closed_with is None and bystander.closed_with is None

    revocations.apply(_event(UserDeleted(user_id="u1", username="ada", deleted_at=datetime.now(UTC))))
    assert renewed.closed_with == (4401, "token revoked: this account was deleted")
    assert bystander.closed_with is None


def test_a_failing_listener_does_not_stop_revocations() -> None:
    _, revocations = _verifier()
    seen: list[str] = []

    def broken(user_id: str) -> None:
        raise RuntimeError("bug")

    revocations.on_revoked(broken)
    revocations.on_revoked(seen.append)
    revocations.apply(_event(UserDeleted(user_id="u1", username="ada", deleted_at=datetime.now(UTC))))
    assert seen == ["u1"] and "u1" in revocations.deleted
    revocations.apply(_event(UserFollowed(follower_id="u1", followee_id="u2")))
    assert seen == ["u1"]  # events that revoke nothing call nobody
