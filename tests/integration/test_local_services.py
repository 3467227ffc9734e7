"""Atelier's services as child processes of the local launcher, against the session's stack."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

import pytest

from deploy.local import procs, services
from deploy.local.stack import EmbeddedStack


def test_a_service_whose_port_was_taken_starts_on_another(stack: EmbeddedStack, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    real_free_port = procs.free_port
    handed_out = iter([taken])
    monkeypatch.setattr(procs, "free_port", lambda: next(handed_out, None) or real_free_port())
    records: list[procs.ProcRecord] = []
    try:
        started = services.start_services(["assets"], stack.service_env(), tmp_path, on_spawn=records.append)
        assert f":{taken}" not in started["assets"].url
        with urllib.request.urlopen(f"{started['assets'].url}/healthz", timeout=5) as resp:
            assert resp.status == 200
        log = (tmp_path / "assets.log").read_text()
        assert log.count("===== ") == 2 and "address already in use" in log.lower()
    finally:
        assert not procs.stop_all(records, grace_s=15)
        squatter.close()
