"""Client JSON is depth-checked before it is parsed; deep or broken bodies are a 400, never a crash."""

from __future__ import annotations

import pytest

from shared import safejson
from shared.errors import BadRequest


def test_shallow_json_parses_as_usual() -> None:
    assert safejson.loads(b'{"a": [1, {"b": "x"}], "n": 12345678901234567890123}') == {
        "a": [1, {"b": "x"}], "n": 12345678901234567890123}


def test_deep_nesting_is_refused_before_parsing() -> None:
    body = b'{"login": ' + b"[" * 600 + b"]" * 600 + b', "password": "x"}'
    with pytest.raises(BadRequest, match="nested deeper than 32"):
        safejson.loads(body)


def test_the_limit_is_exact() -> None:
    assert safejson.loads(b"[" * 32 + b"]" * 32) is not None
    with pytest.raises(BadRequest):
        safejson.loads(b"[" * 33 + b"]" * 33)


def test_brackets_inside_strings_do_not_count() -> None:
    text = '{"bio": "' + "[{" * 5000 + '", "q": "\\"[[["}'
    assert safejson.nesting_depth(text.encode()) == 1
    assert safejson.loads(text)["bio"].startswith("[{")


@pytest.mark.parametrize("raw", [b"{", b'{"a": }', b"\xff\xfe", b'"unterminated', b"[" * 10])
def test_malformed_json_is_a_400(raw: bytes) -> None:
    with pytest.raises(BadRequest):
        safejson.loads(raw)
