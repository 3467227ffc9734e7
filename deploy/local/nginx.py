"""Cluster mode's load balancer: Debian's nginx (deploy/local/install-tools.sh) in the foreground,
with its config, pid file, logs and temp dirs in the state dir, in front of the gateways."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from deploy.local import procs
from deploy.local.procs import OnSpawn

READY_TIMEOUT_S = 15.0
NAME = "nginx"
# Uploads go through the gateway in one request (its own limits answer 413 with problem+json).
MAX_BODY = "64m"


@dataclass(frozen=True)
class Nginx:
    record: procs.ProcRecord
    url: str
    ready_s: float


def nginx_binary() -> Path:
    """Debian's nginx; cluster mode refuses to start without it (no silent single gateway)."""
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if found is None:
        raise procs.StartError("cluster mode (ATELIER_REPLICAS>1) needs nginx as its load balancer and it is "
                               "not installed: run `make tools` as root (apt-get install nginx-light)")
    return Path(found)


def config(listen_port: int, upstreams: list[str], root: Path) -> str:
    """Round robin over `upstreams` (host:port); a gateway that refuses or dies mid-connect is
    skipped (proxy_next_upstream), WebSocket upgrades pass through, client addresses are forwarded.

    No passive health marks (max_fails=0): with `max_fails=1 fail_timeout=2s`, a gateway that was
    restarted and ready again still counted as down for up to 2 s, so taking the next one down in
    a rolling restart left "no live upstreams" (502s). A refused connect on the loopback costs
    microseconds before the next upstream is tried."""
    servers = "\n".join(f"        server {u} max_fails=0;" for u in upstreams)
    temp = root / "nginx" / "temp"
    return f"""daemon off;
master_process off;  # one process: a SIGKILL of it leaves no orphaned worker
worker_processes 1;
pid {root / "nginx" / "nginx.pid"};
error_log {root / "logs" / "nginx.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log {root / "logs" / "nginx-access.log"};
    client_body_temp_path {temp / "body"};
    proxy_temp_path {temp / "proxy"};
    fastcgi_temp_path {temp / "fastcgi"};
    uwsgi_temp_path {temp / "uwsgi"};
    scgi_temp_path {temp / "scgi"};
    client_max_body_size {MAX_BODY};
    map $http_upgrade $connection_upgrade {{ default upgrade; "" ""; }}
    upstream gateways {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{listen_port};
        location / {{
            proxy_pass http://gateways;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 2s;
            proxy_read_timeout 300s;
            proxy_send_timeout 300s;
            proxy_request_buffering off;
            proxy_next_upstream error timeout http_502;
            proxy_next_upstream_tries 2;
        }}
    }}
}}
"""


def start_nginx(state_dir: Path, listen_port: int, upstreams: list[str], on_spawn: OnSpawn | None = None) -> Nginx:
    """Write <state>/nginx.conf and run `nginx -p <state> -c nginx.conf` until it answers."""
    binary = nginx_binary()
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (state_dir / "nginx" / "temp" / sub).mkdir(parents=True, exist_ok=True)
    (state_dir / "logs").mkdir(parents=True, exist_ok=True)
    (state_dir / "nginx.conf").write_text(config(listen_port, upstreams, state_dir))
    log = state_dir / "logs" / "nginx.log"
    argv = [str(binary), "-p", str(state_dir), "-c", "nginx.conf", "-e", str(log)]
    proc, record = procs.spawn(NAME, argv, log, cwd=state_dir, on_spawn=on_spawn)
    url = f"http://127.0.0.1:{listen_port}"
    ready_s = procs.wait_ready(NAME, proc, lambda: procs.http_ok(f"{url}/readyz"), log, READY_TIMEOUT_S)
    return Nginx(record, url, ready_s)
