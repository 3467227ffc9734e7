"""deploy/local/restart.py against a real child process (a tiny HTTP server): a graceful restart
keeps its command, environment, working dir and port, and refuses to SIGKILL a process that does
not stop."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from deploy.local import procs
from deploy.local.restart import RestartError, config_port, process_env, restart

SERVER = "import http.server, os; http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), " \
         "http.server.SimpleHTTPRequestHandler).serve_forever()"


def _spawn(tmp_path: Path, port: int, code: str = SERVER) -> procs.ProcRecord:
    (tmp_path / "www").mkdir(exist_ok=True)
    proc, record = procs.spawn("web", [sys.executable, "-c", code], tmp_path / "web.log",
                               env={"PORT": str(port), "MARK": "kept"}, cwd=tmp_path / "www")
    procs.wait_ready("web", proc, lambda: procs.http_ok(f"http://127.0.0.1:{port}/"), tmp_path / "web.log", 20)
    return record


def test_a_restart_runs_the_same_command_env_dir_and_port_again(tmp_path: Path) -> None:
    port = procs.free_port()
    old = _spawn(tmp_path, port)
    seen: list[procs.ProcRecord] = []
    try:
        done = restart(old, lambda: procs.http_ok(f"http://127.0.0.1:{port}/"), tmp_path / "web.log",
                       grace_s=10, ready_timeout_s=20, on_spawn=seen.append)
        assert not procs.is_running(old)
        assert procs.is_running(done.record) and done.record.pid != old.pid
        assert seen == [done.record] and done.record.argv == old.argv
        assert process_env(done.record.pid)["MARK"] == "kept"
        assert Path(f"/proc/{done.record.pid}/cwd").readlink() == tmp_path / "www"
        assert done.stop_s >= 0 and done.start_s > 0
    finally:
        assert not procs.stop_all([old, *seen], grace_s=5)


def test_a_process_that_ignores_its_stop_signal_is_reported_not_killed(tmp_path: Path) -> None:
    port = procs.free_port()
    stubborn = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); " + SERVER
    old = _spawn(tmp_path, port, stubborn)
    try:
        with pytest.raises(RestartError, match="still running"):
            restart(old, lambda: True, tmp_path / "web.log", grace_s=0.5, ready_timeout_s=5)
        assert procs.is_running(old)
    finally:
        assert not procs.stop_all([old], grace_s=1)
    assert old.stop_signal == signal.SIGTERM


def test_config_ports_of_nats_and_nginx(tmp_path: Path) -> None:
    conf = tmp_path / "n.conf"
    conf.write_text('server_name: "n1"\nlisten: "127.0.0.1:4222"\nhttp: "127.0.0.1:8222"\n'
                    "server {\n        listen 127.0.0.1:8080;\n}\n")
    assert config_port(conf, "http") == 8222
    assert config_port(conf, "listen") == 4222
    with pytest.raises(RestartError):
        config_port(conf, "cluster")
