"""NVIDIA Triton: the `tritonserver` (2.51, Python backend only) bundled in PyPI `nvidia-pytriton`.

The model-repository API (load/unload) is restricted to requests carrying `admin-key: <token>`,
so only the inference service, which is given the token, can change what is served.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from deploy.local import procs
from deploy.local.procs import OnSpawn

READY_TIMEOUT_S = 60.0
ADMIN_HEADER = "admin-key"
PY_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"


@dataclass(frozen=True)
class TritonServer:
    record: procs.ProcRecord
    http_url: str  # host:port, as tritonclient wants it
    grpc_url: str
    metrics_url: str
    admin_token: str
    model_repository: Path
    ready_s: float


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise procs.StartError(f"package {name} missing: install the venv (`make venv`, nvidia-pytriton)")
    return Path(next(iter(spec.submodule_search_locations)))


def _server_dir() -> Path:
    return _package_dir("pytriton") / "tritonserver"


def _prepare_backends(state_dir: Path) -> Path:
    """A backend directory with `python/` holding the backend and the stub for this Python."""
    source = _server_dir()
    backends = state_dir / "triton" / "backends"
    python = backends / "python"
    python.mkdir(parents=True, exist_ok=True)
    stub = source / "python_backend_stubs" / PY_VERSION / "triton_python_backend_stub"
    if not stub.exists():
        raise procs.StartError(f"no Triton Python backend stub for Python {PY_VERSION} in {stub.parent}")
    for item in [*sorted((source / "backends" / "python").glob("*.*")), stub]:
        target = python / item.name
        if not target.exists() or target.stat().st_size != item.stat().st_size:
            shutil.copy2(item, target)
    return backends


def _environment() -> dict[str, str]:
    # The stub embeds libpython: it must find this interpreter's (LIBDIR) before Debian's, and
    # this venv's `python3` first on PATH so models import the venv's packages.
    libs = [str(sysconfig.get_config_var("LIBDIR")), str(_server_dir().parent.parent / "nvidia_pytriton.libs")]
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "/usr/bin:/bin")])
    env["LD_LIBRARY_PATH"] = os.pathsep.join([*libs, *filter(None, [env.get("LD_LIBRARY_PATH")])])
    return env


def start_triton(state_dir: Path, admin_token: str, on_spawn: OnSpawn | None = None) -> TritonServer:
    repository = state_dir / "triton" / "models"
    repository.mkdir(parents=True, exist_ok=True)
    backends = _prepare_backends(state_dir)
    http_port, grpc_port, metrics_port = procs.free_port(), procs.free_port(), procs.free_port()
    restricted = f"model-repository:{ADMIN_HEADER}={admin_token}"
    argv = [
        str(_server_dir() / "bin" / "tritonserver"),
        f"--model-repository={repository}",
        "--model-control-mode=explicit",
        f"--backend-directory={backends}",
        "--http-address=127.0.0.1", f"--http-port={http_port}",
        "--grpc-address=127.0.0.1", f"--grpc-port={grpc_port}",
        "--metrics-address=127.0.0.1", f"--metrics-port={metrics_port}",
        f"--http-restricted-api={restricted}",
        f"--grpc-restricted-protocol={restricted}",
        "--exit-timeout-secs=2",  # a dev server need not wait long for idle keep-alive clients
        "--log-verbose=0",
    ]  # fmt: skip
    log = state_dir / "logs" / "triton.log"
    proc, record = procs.spawn("triton", argv, log, env=_environment(), cwd=state_dir / "triton",
                               stop_signal=signal.SIGTERM, on_spawn=on_spawn)
    ready_url = f"http://127.0.0.1:{http_port}/v2/health/ready"
    ready_s = procs.wait_ready("triton", proc, lambda: procs.http_ok(ready_url), log, READY_TIMEOUT_S)
    return TritonServer(record, f"127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}",
                        f"http://127.0.0.1:{metrics_port}/metrics", admin_token, repository, ready_s)
