"""Signed keyset cursors: round trip, and every kind of tampering is a 400."""

from __future__ import annotations

import pytest

from services.community.cursors import CursorCodec, derive_secret
from shared.errors import BadRequest

codec = CursorCodec(derive_secret(b"test key material"))


def test_round_trip_keeps_the_position() -> None:
    cursor = codec.encode("trending", [37812.25, "01J0000000000000000000000A"])
    assert codec.decode("trending", cursor, (float, str)) == [37812.25, "01J0000000000000000000000A"]


def test_no_cursor_means_first_page() -> None:
    assert codec.decode("feed", None, (str,)) is None
    assert codec.decode("feed", "", (str,)) is None


@pytest.mark.parametrize("mangle", [
    lambda c: c[:-1],                       # truncated signature
    lambda c: "x" + c,                      # changed body
    lambda c: c.replace(".", ""),           # no separator
    lambda c: c + ".extra",                 # extra part
    lambda c: "%%%." + c.split(".")[1],     # not base64
    lambda c: "a" * 600,                    # absurdly long
])
def test_tampered_cursor_is_a_bad_request(mangle: object) -> None:
    cursor = codec.encode("feed", ["01J0000000000000000000000A"])
    with pytest.raises(BadRequest):
        codec.decode("feed", mangle(cursor), (str,))  # type: ignore[operator]


def test_every_single_changed_character_is_refused() -> None:
    cursor = codec.encode("feed", ["01J0000000000000000000000A"])
    for i, char in enumerate(cursor):
        for replacement in {"A", "B", "Q", "w", "_", "-"} - {char}:
            with pytest.raises(BadRequest):
                codec.decode("feed", cursor[:i] + replacement + cursor[i + 1:], (str,))


def test_cursor_of_another_listing_is_refused() -> None:
    cursor = codec.encode("feed", ["01J0000000000000000000000A"])
    with pytest.raises(BadRequest):
        codec.decode("trending", cursor, (float, str))


def test_cursor_signed_with_another_key_is_refused() -> None:
    other = CursorCodec(derive_secret(b"another key"))
    with pytest.raises(BadRequest):
        codec.decode("feed", other.encode("feed", ["01J0000000000000000000000A"]), (str,))


def test_validly_signed_but_wrongly_typed_position_is_refused() -> None:
    with pytest.raises(BadRequest):
        codec.decode("trending", codec.encode("trending", ["high", "x"]), (float, str))
    with pytest.raises(BadRequest):
        codec.decode("works-top", codec.encode("works-top", [True, "x"]), (int, str))
