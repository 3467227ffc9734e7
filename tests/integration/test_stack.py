"""The embedded stack really serves: JetStream, PostgreSQL, the S3 bucket, a token-protected Triton,
and it stops without leaving a process behind, also after a crash and through the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import numpy as np
import pytest
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from minio.error import S3Error
from tritonclient.utils import InferenceServerException

from deploy.local.s3 import minio_client
from deploy.local.stack import EmbeddedStack, Endpoints
from tests.support.ports import first_pick_taken

REPO_ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _processes_under(*roots: Path) -> list[str]:
    """Live processes whose command line or working directory lies under one of `roots`.

    Catches what pids alone would miss, such as PostgreSQL's backends (cwd = its data dir).
    """
    found = []
    needles = [str(root) for root in roots]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid() or not _alive(int(entry.name)):
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if any(n in cmdline or cwd.startswith(n) for n in needles):
            found.append(f"{entry.name}: {cmdline[:120]}")
    return found


def _state_roots(state_dir: Path) -> list[Path]:
    data = json.loads((state_dir / "stack.json").read_text())
    return [state_dir, Path(data["postgres_data_root"])]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    embedded = EmbeddedStack(tmp_path_factory.mktemp("stack-under-test"))
    try:
        embedded.start()
        yield embedded
    finally:
        embedded.destroy()


@pytest.fixture(scope="module")
def endpoints(stack: EmbeddedStack) -> Endpoints:
    assert stack.endpoints is not None
    return stack.endpoints


def test_nats_has_jetstream(endpoints: Endpoints) -> None:
    with urllib.request.urlopen(f"{endpoints.nats_monitor_url}/jsz", timeout=5) as resp:
        jsz = json.load(resp)
    assert not jsz.get("disabled", False)
    assert jsz["config"]["store_dir"].startswith(str(endpoints.state_dir))


async def test_postgres_serves_the_atelier_database(endpoints: Endpoints) -> None:
    conn = await asyncpg.connect(endpoints.database_url, timeout=5)
    try:
        assert await conn.fetchval("SELECT 1") == 1
        assert await conn.fetchval("SELECT current_database()") == "atelier"
    finally:
        await conn.close()


def test_s3_bucket_exists_and_checks_credentials(endpoints: Endpoints) -> None:
    client = minio_client(endpoints.s3_endpoint, endpoints.s3_access_key, endpoints.s3_secret_key)
    assert client.bucket_exists(endpoints.s3_bucket)
    intruder = minio_client(endpoints.s3_endpoint, endpoints.s3_access_key, "wrong-secret-key")
    with pytest.raises(S3Error) as refused:
        intruder.bucket_exists(endpoints.s3_bucket)
    assert refused.value.code == "SignatureDoesNotMatch"


def _write_identity_model(repository: Path) -> None:
    (repository / "identity" / "1").mkdir(parents=True, exist_ok=True)
    (repository / "identity" / "1" / "model.py").write_text(textwrap.dedent("""
        import triton_python_backend_utils as pb_utils

        class TritonPythonModel:
            def execute(self, requests):
                return [
                    pb_utils.InferenceResponse([
                        pb_utils.Tensor("y", pb_utils.get_input_tensor_by_name(r, "x").as_numpy())
                    ])
                    for r in requests
                ]
    """))
    (repository / "identity" / "config.pbtxt").write_text(textwrap.dedent("""
        name: "identity"
        backend: "python"
        max_batch_size: 0
        input [{ name: "x", data_type: TYPE_FP32, dims: [ 4 ] }]
        output [{ name: "y", data_type: TYPE_FP32, dims: [ 4 ] }]
        instance_group [{ kind: KIND_CPU, count: 1 }]
    """))


def test_triton_model_loading_needs_the_admin_token(endpoints: Endpoints) -> None:
    _write_identity_model(endpoints.triton_model_repository)
    http = triton_http.InferenceServerClient(endpoints.triton_http_url, connection_timeout=5,
                                             network_timeout=60)
    grpc = triton_grpc.InferenceServerClient(endpoints.triton_grpc_url)
    try:
        assert http.is_server_ready()
        with pytest.raises(InferenceServerException, match="restricted"):
            http.load_model("identity")
        with pytest.raises(InferenceServerException, match="restricted"):
            grpc.load_model("identity", client_timeout=10)
        with pytest.raises(InferenceServerException, match="restricted"):
            http.load_model("identity", headers={"admin-key": "not-the-token"})
        assert not http.is_model_ready("identity")

        http.load_model("identity", headers={"admin-key": endpoints.triton_admin_token})
        assert http.is_model_ready("identity")
        x = triton_http.InferInput("x", [4], "FP32")
        x.set_data_from_numpy(np.arange(4, dtype=np.float32))
        result = http.infer("identity", [x])
        assert result.as_numpy("y").tolist() == [0.0, 1.0, 2.0, 3.0]
        # Over gRPC Triton expects the key with its protocol prefix.
        grpc.unload_model("identity", client_timeout=10,
                          headers={"triton-grpc-protocol-admin-key": endpoints.triton_admin_token})
    finally:
        http.close()
        grpc.close()


def test_jwt_keys_are_made_once(stack: EmbeddedStack, endpoints: Endpoints) -> None:
    assert endpoints.jwt_private_key_file.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert endpoints.jwt_public_key_file.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert stack.service_env()["ATELIER_JWT_PUBLIC_KEY_FILE"] == str(endpoints.jwt_public_key_file)


async def test_restart_after_crash_reuses_the_data(stack: EmbeddedStack, endpoints: Endpoints) -> None:
    conn = await asyncpg.connect(endpoints.database_url, timeout=5)
    await conn.execute("CREATE TABLE survivor (note text); INSERT INTO survivor VALUES ('kept')")
    await conn.close()
    old_public_key = endpoints.jwt_public_key_file.read_bytes()
    crashed = stack.pids()
    for pid in crashed.values():
        os.kill(pid, signal.SIGKILL)  # the servers die hard: stale lock files, sockets, pids.json

    # A fresh launcher for the same state dir, as after a reboot or a crashed `make run`.
    again = EmbeddedStack(endpoints.state_dir)
    try:
        restarted = again.start()
        conn = await asyncpg.connect(restarted.database_url, timeout=5)
        assert await conn.fetchval("SELECT note FROM survivor") == "kept"
        await conn.close()
        assert restarted.jwt_public_key_file.read_bytes() == old_public_key
        client = minio_client(restarted.s3_endpoint, restarted.s3_access_key, restarted.s3_secret_key)
        assert client.bucket_exists(restarted.s3_bucket)
        assert not set(again.pids().values()) & set(crashed.values())
    finally:
        again.stop()
    assert not _processes_under(*_state_roots(endpoints.state_dir))


def test_start_stops_leftovers_of_a_crashed_launcher(tmp_path: Path) -> None:
    first = EmbeddedStack(tmp_path, with_triton=False)
    first.start()
    orphans = first.pids()  # the launcher "crashes": its servers keep running
    second = EmbeddedStack(tmp_path, with_triton=False)
    try:
        second.start()
        assert not any(_alive(pid) for pid in orphans.values())
        assert all(_alive(pid) for pid in second.pids().values())
    finally:
        second.stop()
        first.stop()
    assert not _processes_under(*_state_roots(tmp_path))
    second.destroy()


def test_stop_leaves_no_process(tmp_path: Path) -> None:
    embedded = EmbeddedStack(tmp_path)
    embedded.start()
    pids = embedded.pids()
    assert set(pids) == {"nats", "postgres", "s3", "triton"}
    embedded.stop()
    embedded.stop()  # idempotent
    assert not [name for name, pid in pids.items() if _alive(pid)]
    assert not _processes_under(*_state_roots(tmp_path))
    assert json.loads((tmp_path / "stack.json").read_text())["pids"] == {}
    roots = _state_roots(tmp_path)
    embedded.destroy()
    assert not any(root.exists() for root in roots)


def test_cli_up_detaches_and_down_stops_everything(tmp_path: Path) -> None:
    env = {**os.environ, "ATELIER_STATE_DIR": str(tmp_path), "ATELIER_GATEWAY_PORT": "0"}

    def cli(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "deploy.local", command], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=180, check=False)

    up = cli("up")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        state = json.loads((tmp_path / "stack.json").read_text())
        pids = state["pids"]
        assert {"nats", "postgres", "s3", "triton"} <= set(pids)
        assert all(_alive(pid) for pid in pids.values()), pids  # outlived the `up` command
        for name, url in state.get("services", {}).items():
            with urllib.request.urlopen(f"{url}/readyz", timeout=5) as resp:
                assert resp.status == 200, name
        if "gateway" in state.get("services", {}):
            assert state["gateway_url"] == state["services"]["gateway"]
    finally:
        down = cli("down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert not [name for name, pid in pids.items() if _alive(pid)]
    assert not _processes_under(*_state_roots(tmp_path))
    assert json.loads((tmp_path / "stack.json").read_text())["pids"] == {}
    EmbeddedStack(tmp_path).destroy()


def test_start_survives_a_port_taken_between_pick_and_bind(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    embedded = EmbeddedStack(tmp_path, with_triton=False)
    with first_pick_taken(monkeypatch) as taken:
        try:
            ep = embedded.start()
            urls = [ep.nats_url, ep.nats_monitor_url, ep.database_url, ep.s3_endpoint]
            assert not any(f":{taken}" in url for url in urls)
            logs = "".join(p.read_text() for p in (tmp_path / "logs").glob("*.log"))
            assert logs.count("===== ") == 4  # three servers, one of them started twice
        finally:
            embedded.destroy()


def test_free_ports_are_never_handed_out_twice() -> None:
    from deploy.local import procs

    ports = [procs.free_port() for _ in range(2000)]
    assert len(set(ports)) == len(ports)
