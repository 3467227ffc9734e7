"""Atelier's services as child processes of the local launcher, against the session's stack."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local import procs, services
from deploy.local.stack import EmbeddedStack
from tests.support.ports import first_pick_taken


def test_a_service_whose_port_was_taken_starts_on_another(stack: EmbeddedStack, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    records: list[procs.ProcRecord] = []
    with first_pick_taken(monkeypatch) as taken:
        try:
            started = services.start_services(["assets"], stack.service_env(), tmp_path, on_spawn=records.append)
            assert f":{taken}" not in started["assets"].url
            assert procs.http_ok(f"{started['assets'].url}/healthz", timeout_s=5)
            log = (tmp_path / "assets.log").read_text()
            assert log.count("===== ") == 2 and "address already in use" in log.lower()
        finally:
            assert not procs.stop_all(records, grace_s=15)
