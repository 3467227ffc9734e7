"""What an RPC puts on the wire: the JSON a caller of another service gets back."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from shared.messaging.rpc import _encode


class Page(BaseModel):
    title: str
    at: datetime


def test_datetimes_are_rfc3339_utc_with_z() -> None:
    at = datetime(2026, 11, 22, 12, 54, 18, 948119, tzinfo=UTC)
    doc = json.loads(_encode({"at": at, "whole_second": at.replace(microsecond=0)}))
    assert doc == {"at": "2026-11-22T12:54:18.948119Z", "whole_second": "2026-11-22T12:54:18Z"}


def test_models_none_and_plain_values() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert json.loads(_encode(Page(title="dusk", at=at))) == {"title": "dusk", "at": "2026-01-02T03:04:05Z"}
    assert _encode(None) == b"null"
    assert json.loads(_encode({"items": [Page(title="a", at=at)], "n": 1.5, "ok": True, "tags": ("x", "y")})) == {
        "items": [{"title": "a", "at": "2026-01-02T03:04:05Z"}], "n": 1.5, "ok": True, "tags": ["x", "y"]}


def test_what_the_fast_encoder_refuses_still_encodes() -> None:
    huge = 2**80  # a client may send any integer; passing it on must not fail the call
    assert json.loads(_encode({"seed": huge})) == {"seed": huge}
    assert json.loads(_encode({1: "one"})) == {"1": "one"}


def test_unencodable_values_are_an_error_not_garbage() -> None:
    with pytest.raises(TypeError):
        _encode({"x": object()})
