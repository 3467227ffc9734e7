"""The embedded stack: NATS (JetStream), PostgreSQL, an S3 store and Triton, then Atelier's services.

Used by `python -m deploy.local` and by the test suite's session fixtures:

    stack = EmbeddedStack(tmp_dir)
    endpoints = stack.start()
    urls = stack.start_services(["community", "gateway"], gateway_port=0)
    ...
    stack.stop()      # or stack.destroy() to also delete every file it made (tests)

Cluster mode (`replicas=2`, ATELIER_REPLICAS=2 for the launcher): a 3-node NATS cluster with
streams and KV buckets at 3 replicas, `replicas` instances of every service, and nginx in front
of the gateways on the gateway port (deploy/local/nginx.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deploy.local import keys, nats_auth, pgdir, procs, services, state
from deploy.local import restart as restart_proc
from deploy.local.nats import start_nats
from deploy.local.nats_cluster import NODES, start_nats_cluster
from deploy.local.nginx import nginx_binary, start_nginx
from deploy.local.postgres import start_postgres
from deploy.local.restart import Restarted
from deploy.local.s3 import start_s3
from deploy.local.triton import start_triton
from shared.messaging.permissions import ADMIN

SERVER_GRACE_S = 10.0
START_ATTEMPTS = 3


def _with_retries(start: Callable[[], Any]) -> tuple[Any, float]:
    """Ports are picked free but bound later by the server: on an early exit, try fresh ports.

    Returns the started server and the seconds its whole start took (initdb, format included).
    """
    began = time.monotonic()
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            return start(), time.monotonic() - began
        except procs.EarlyExit:
            if attempt == START_ATTEMPTS:
                raise
    raise AssertionError("unreachable")
SERVICE_GRACE_S = services.SHUTDOWN_TIMEOUT_S + 5.0


STREAMS_TIMEOUT_S = 60.0


async def _ensure_streams(admin_url: str, replicas: int) -> None:
    """Create the streams; a fresh cluster answers "JetStream not ready" until it elected its
    meta leader (a few seconds), so keep trying until STREAMS_TIMEOUT_S."""
    import nats

    from shared.messaging.streams import ensure_streams

    nc = await nats.connect(admin_url, name="atelier-launcher", connect_timeout=5, allow_reconnect=False)
    deadline = time.monotonic() + STREAMS_TIMEOUT_S - 5
    try:
        while True:
            try:
                await ensure_streams(nc.jetstream(timeout=10.0), replicas=replicas)
                return
            except Exception:
                if replicas == 1 or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await nc.close()


@dataclasses.dataclass(frozen=True)
class Endpoints:
    nats_url: str  # with the admin identity (`nats://admin:...@host:port`): for tools and tests
    nats_monitor_url: str
    database_url: str
    s3_endpoint: str  # host:port
    s3_access_key: str
    s3_secret_key: str
    s3_bucket: str
    triton_http_url: str  # host:port; "" when started without Triton
    triton_grpc_url: str
    triton_admin_token: str
    triton_model_repository: Path
    state_dir: Path
    jwt_private_key_file: Path
    jwt_public_key_file: Path
    nats_server_url: str = ""  # without credentials: each service connects as its own identity
    nats_credentials_file: Path | None = None  # this run's password of every NATS identity

    def to_json(self) -> dict[str, str]:
        return {key: str(value) for key, value in dataclasses.asdict(self).items()}


class EmbeddedStack:
    def __init__(self, state_dir: Path, with_triton: bool = True, replicas: int = 1) -> None:
        if replicas < 1:
            raise ValueError("replicas must be at least 1")
        self.state_dir = Path(state_dir).resolve()
        self.with_triton = with_triton
        self.replicas = replicas
        self.nats_replicas = NODES if replicas > 1 else 1
        self.endpoints: Endpoints | None = None
        self.service_urls: dict[str, str] = {}
        self.timings: dict[str, float] = {}  # seconds: <server>_ready, start_total, stop_total, ...
        self._servers: list[procs.ProcRecord] = []
        self._services: list[procs.ProcRecord] = []
        self._file = state.StackFile(self.state_dir)
        self._nats_passwords: dict[str, str] = {}

    # -- start -----------------------------------------------------------------------------------

    def start(self) -> Endpoints:
        """Start every server in parallel and wait until each really answers."""
        if self.endpoints is not None:
            return self.endpoints
        began = time.monotonic()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.recover()
        if self.replicas > 1:
            nginx_binary()  # no load balancer, no cluster mode: refuse before starting anything
        private_key, public_key = keys.ensure_jwt_keys(self.state_dir)
        secret = state.load_secrets(self.state_dir)
        nats_start = start_nats_cluster if self.replicas > 1 else start_nats
        jobs: dict[str, Callable[[], Any]] = {
            "nats": lambda: nats_start(self.state_dir, self._register_server),
            "postgres": lambda: start_postgres(self.state_dir, self._register_server),
            "s3": lambda: start_s3(self.state_dir, secret["s3_access_key"], secret["s3_secret_key"],
                                   self._register_server),
        }
        if self.with_triton:
            jobs["triton"] = lambda: start_triton(self.state_dir, secret["triton_admin_token"],
                                                  self._register_server)
        started = self._run_parallel(jobs)
        nats, pg, s3 = started["nats"], started["postgres"], started["s3"]
        triton = started.get("triton")
        self.endpoints = Endpoints(
            nats_url=nats.url,
            nats_monitor_url=nats.monitor_url,
            database_url=pg.database_url,
            s3_endpoint=s3.endpoint,
            s3_access_key=s3.access_key,
            s3_secret_key=s3.secret_key,
            s3_bucket=s3.bucket,
            triton_http_url=triton.http_url if triton else "",
            triton_grpc_url=triton.grpc_url if triton else "",
            triton_admin_token=secret["triton_admin_token"],
            triton_model_repository=self.state_dir / "triton" / "models",
            state_dir=self.state_dir,
            jwt_private_key_file=private_key,
            jwt_public_key_file=public_key,
            nats_server_url=nats.server_url,
            nats_credentials_file=nats.credentials_file,
        )
        self._nats_passwords = nats_auth.read_credentials(nats.credentials_file)
        self._create_streams(nats.url)
        self.timings.update({f"{name}_ready": server.ready_s for name, server in started.items()})
        self.timings["start_total"] = time.monotonic() - began
        self._file.update(**self.endpoints.to_json(), postgres_data_root=str(pg.data_root))
        return self.endpoints

    def _create_streams(self, admin_url: str) -> None:
        """The admin identity creates the streams; services may not (ATELIER_NATS_MANAGE_STREAMS=false)."""
        try:  # in a thread of its own: start() may be called from inside an event loop (async tests)
            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
                run = lambda: asyncio.run(_ensure_streams(admin_url, self.nats_replicas))  # noqa: E731
                pool.submit(run).result(timeout=STREAMS_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise

    def _run_parallel(self, jobs: dict[str, Callable[[], Any]]) -> dict[str, Any]:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            futures = {name: pool.submit(_with_retries, job) for name, job in jobs.items()}
            concurrent.futures.wait(futures.values())
        failures = [f.exception() for f in futures.values() if f.exception() is not None]
        if failures:
            self.stop()  # whatever did start must not outlive the failed start
            raise failures[0]  # type: ignore[misc]
        for name, future in futures.items():
            self.timings[f"{name}_start"] = future.result()[1]
        return {name: future.result()[0] for name, future in futures.items()}

    def _register_server(self, record: procs.ProcRecord) -> None:
        self._servers.append(record)
        self._file.add_proc(record)

    def _register_service(self, record: procs.ProcRecord) -> None:
        self._services.append(record)
        self._file.add_proc(record)

    def recover(self) -> list[str]:
        """Stop what a crashed earlier run of this state dir left running; returns their names."""
        leftovers = self._file.records()
        own = [r for r in leftovers if services.service_of(r.name) or r.name == "nginx"]
        servers = [r for r in leftovers if r not in own]
        for group, grace in ((own, SERVICE_GRACE_S), (servers, SERVER_GRACE_S)):
            survivors = procs.stop_all(group, grace_s=grace)
            if survivors:
                raise RuntimeError(f"could not stop pids {[r.pid for r in survivors]}")
        self._file.remove_procs([r.name for r in leftovers])
        return [r.name for r in leftovers]

    # -- services --------------------------------------------------------------------------------

    def service_env(self, name: str | None = None) -> dict[str, str]:
        """The ATELIER_* environment that points a service at this stack.

        With a service's `name`, it connects to NATS as that identity and leaves the streams to
        the admin; without one (a tool or test process), as the admin identity."""
        ep = self._require_endpoints()
        identity = ADMIN if name is None else name
        if identity not in self._nats_passwords or name == ADMIN:
            raise KeyError(f"no NATS identity for service {name!r}: declare it in shared/messaging/permissions.py")
        env = {
            "ATELIER_NATS_URL": ep.nats_server_url,
            "ATELIER_NATS_USER": identity,
            "ATELIER_NATS_PASSWORD": self._nats_passwords[identity],
            "ATELIER_NATS_MANAGE_STREAMS": "false" if identity != ADMIN else "true",
            "ATELIER_NATS_REPLICAS": str(self.nats_replicas),
            "ATELIER_DATABASE_URL": ep.database_url,
            "ATELIER_S3_ENDPOINT": ep.s3_endpoint,
            "ATELIER_S3_ACCESS_KEY": ep.s3_access_key,
            "ATELIER_S3_SECRET_KEY": ep.s3_secret_key,
            "ATELIER_S3_BUCKET": ep.s3_bucket,
            "ATELIER_S3_SECURE": "false",
            "ATELIER_STATE_DIR": str(ep.state_dir),
            "ATELIER_ENVIRONMENT": "development",
            "ATELIER_JWT_PRIVATE_KEY_FILE": str(ep.jwt_private_key_file),
            "ATELIER_JWT_PUBLIC_KEY_FILE": str(ep.jwt_public_key_file),
            # The demo artist reviews reported works unless the caller names other moderators.
            "ATELIER_MODERATORS": os.environ.get("ATELIER_MODERATORS", "mira"),
            # Local receivers: webhooks may go to http:// and loopback (never private or metadata addresses).
            "ATELIER_WEBHOOKS_ALLOW_INSECURE": os.environ.get("ATELIER_WEBHOOKS_ALLOW_INSECURE", "true"),
        }
        if ep.triton_grpc_url:
            env.update({
                "ATELIER_TRITON_URL": ep.triton_grpc_url,
                "ATELIER_TRITON_HTTP_URL": ep.triton_http_url,
                "ATELIER_TRITON_ADMIN_TOKEN": ep.triton_admin_token,
                "ATELIER_TRITON_MODEL_REPOSITORY": str(ep.triton_model_repository),
            })  # fmt: skip
        return env

    def start_services(self, names: list[str], gateway_port: int = 8080) -> dict[str, str]:
        """Start `python -m services.<name>` for each name; returns name -> base URL once all are ready.

        In cluster mode every replica is listed (community, community-2, ...); "gateway" is then
        nginx's URL, in front of both gateways (gateway-1 and gateway-2 their own)."""
        logs = self.state_dir / "logs"
        started = services.start_services(names, self.service_env(), logs, gateway_port,
                                          self._register_service, env_for=self._instance_env,
                                          replicas=self.replicas)
        for name, service in started.items():
            self.service_urls[name] = service.url
            self.timings[f"{name}_ready"] = service.ready_s
        gateways = [s.url for n, s in started.items() if services.service_of(n) == "gateway"]
        if self.replicas > 1 and gateways:
            self.service_urls["gateway-1"] = self.service_urls.pop("gateway")
            port = gateway_port or procs.free_port()
            balancer = start_nginx(self.state_dir, port, [u.removeprefix("http://") for u in gateways],
                                   self._register_service)
            self.service_urls["gateway"] = balancer.url
            self.timings["nginx_ready"] = balancer.ready_s
        self._file.update(services=self.service_urls, gateway_url=self.service_urls.get("gateway", ""))
        return {name: url for name, url in self.service_urls.items() if services.service_of(name) in names}

    def _instance_env(self, name: str) -> dict[str, str]:
        env = self.service_env(name)
        if self.replicas > 1 and name == "gateway":
            # Behind nginx: the client's address is the last X-Forwarded-For hop, and rate limits
            # count in the shared KV bucket, as one platform.
            env["ATELIER_FORWARDED_HOPS"] = os.environ.get("ATELIER_FORWARDED_HOPS", "1")
            env["ATELIER_RATE_LIMIT_BACKEND"] = os.environ.get("ATELIER_RATE_LIMIT_BACKEND", "nats")
        return env

    # -- stop ------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Services first (they drain into the servers), then every server at once. Idempotent."""
        began = time.monotonic()
        for group, grace in ((self._services, SERVICE_GRACE_S), (self._servers, SERVER_GRACE_S)):
            survivors = procs.stop_all(group, grace_s=grace)
            if survivors:
                raise RuntimeError(f"could not stop pids {[r.pid for r in survivors]}")
            self._file.remove_procs([r.name for r in group])
            group.clear()
        self.endpoints = None
        self.service_urls = {}
        self.timings["stop_total"] = time.monotonic() - began

    def destroy(self) -> None:
        """Stop everything and delete all state: the data, keys, logs and an external cluster."""
        self.stop()
        self.recover()
        data_root = self._file.read().get("postgres_data_root")
        if data_root and Path(data_root).parent == pgdir.EXTERNAL_BASE:
            shutil.rmtree(data_root, ignore_errors=True)
        shutil.rmtree(self.state_dir, ignore_errors=True)

    def pids(self) -> dict[str, int]:
        return {r.name: r.pid for r in [*self._servers, *self._services]}

    def record(self, name: str) -> procs.ProcRecord:
        """The running process `name` (nats-3, community-2, nginx, ...) as started: for fault tests."""
        return next(r for r in reversed([*self._servers, *self._services]) if r.name == name)

    def restart(self, name: str) -> Restarted:
        """Restart the running process `name` gracefully, as a rolling deploy does (deploy/local/restart.py):
        a service replica, a gateway, nginx or a NATS node (ready again once it rejoined with every
        stream and consumer current). Same command, environment and ports.

        A NATS node gets SIGTERM, not lame duck mode (SIGUSR2): nats-server 2.15 refuses a
        lame_duck_duration under 30 s, half a minute per node; its graceful shutdown already hands
        its JetStream leaderships over, and clients reconnect to the other nodes within 0.5 s."""
        old = self.record(name)
        group = self._servers if old in self._servers else self._services
        log = self.state_dir / "logs" / f"{name}.log"
        if services.service_of(name):
            port = restart_proc.process_env(old.pid)["ATELIER_HTTP_PORT"]
            ready_url, grace = f"http://127.0.0.1:{port}/readyz", SERVICE_GRACE_S
            ready = lambda: procs.http_ok(ready_url)  # noqa: E731
        elif name == "nginx":
            ready_url, grace = f"{self.service_urls['gateway']}/readyz", SERVER_GRACE_S
            ready = lambda: procs.http_ok(ready_url)  # noqa: E731
        elif name.startswith("nats") and "-c" in old.argv and self.replicas > 1:
            monitor = restart_proc.config_port(Path(old.argv[old.argv.index("-c") + 1]), "http")
            monitor_url, grace = f"http://127.0.0.1:{monitor}", SERVER_GRACE_S
            ready = lambda: restart_proc.nats_node_ready(monitor_url, NODES - 1)  # noqa: E731
        else:
            raise ValueError(f"restart of {name!r} is not supported (services, nginx, cluster NATS nodes)")

        def replace(new: procs.ProcRecord) -> None:  # recorded before it is ready: no orphan on a failed start
            group[group.index(old)] = new
            self._file.add_proc(new)  # keyed by name: replaces the old record

        done = restart_proc.restart(old, ready, log, grace_s=grace,
                                    ready_timeout_s=services.READY_TIMEOUT_S, on_spawn=replace)
        self.timings[f"{name}_restart"] = done.stop_s + done.start_s
        return done

    def _require_endpoints(self) -> Endpoints:
        if self.endpoints is None:
            raise RuntimeError("the stack is not started: call start() first")
        return self.endpoints
