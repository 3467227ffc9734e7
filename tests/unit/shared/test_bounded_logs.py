"""A log line never grows with what a client sent: tracebacks are short, plain and capped."""

from __future__ import annotations

import json

import pytest
import structlog

from shared.logging import MAX_TRACEBACK_CHARS, configure_logging, get_logger
from shared.settings import ServiceSettings


def _deep(n: int) -> None:
    _deep(n + 1)


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_a_recursion_error_logs_a_bounded_record(log_format: str, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(ServiceSettings(log_format=log_format))
    try:
        try:
            _deep(0)
        except RecursionError:
            get_logger("test").exception("http.unhandled", request_id="req-1", secret_local="do-not-log")
        err = capsys.readouterr().err
    finally:
        structlog.reset_defaults()
    assert "http.unhandled" in err and "req-1" in err
    assert len(err) < MAX_TRACEBACK_CHARS + 2000, len(err)
    assert "do-not-log" in err  # the event's own fields are kept...
    assert "n = " not in err and "locals" not in err.lower()  # ...but no frame's local variables
    if log_format == "json":
        record = json.loads(err.strip().splitlines()[-1])
        assert "RecursionError" in record["exception"]
