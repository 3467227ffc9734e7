"""`python -m deploy.local up|down|run|status`: the whole platform on this machine.

- up: start the servers and the services that exist, record them in <state>/stack.json, detach.
- down: stop everything recorded in stack.json, by pid.
- run: like up, in the foreground; seeds demo data if `demo.seed` exists; ^C / SIGTERM stop all.
- status: what stack.json records and whether each process is alive.

State dir: $ATELIER_STATE_DIR or .atelier/. Gateway port: $ATELIER_GATEWAY_PORT or 8080 (0: any).
Cluster mode: $ATELIER_REPLICAS=2 runs a 3-node NATS cluster, two of every service and nginx in
front of the gateways (on the gateway port); it needs nginx (`make tools` as root). Default 1.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType

from deploy.local import procs, services, state
from deploy.local.stack import EmbeddedStack

WATCH_INTERVAL_S = 1.0


def _state_dir() -> Path:
    return Path(os.environ.get("ATELIER_STATE_DIR") or ".atelier").resolve()


def _gateway_port() -> int:
    return int(os.environ.get("ATELIER_GATEWAY_PORT") or 8080)


def _replicas() -> int:
    raw = os.environ.get("ATELIER_REPLICAS") or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= 5:
        raise procs.StartError(f"ATELIER_REPLICAS={raw!r}: give a whole number from 1 to 5")
    return int(raw)


def _stack() -> EmbeddedStack:
    return EmbeddedStack(_state_dir(), replicas=_replicas())


def _start(stack: EmbeddedStack) -> str:
    """Start servers and existing services; returns the gateway URL ("" without a gateway)."""
    port = _gateway_port()
    names = services.existing_services()
    if "gateway" in names and port and procs.port_open(port):
        raise procs.StartError(f"port {port} is in use: stop what holds it, or set ATELIER_GATEWAY_PORT=0")
    stack.start()
    urls = stack.start_services(names, gateway_port=port) if names else {}
    return urls.get("gateway", "")


def _print_summary(stack: EmbeddedStack, gateway_url: str) -> None:
    ep = stack.endpoints
    assert ep is not None
    print(f"state dir   {ep.state_dir}  (logs in {ep.state_dir / 'logs'})")
    print(f"nats        {ep.nats_server_url}  (identities in {ep.nats_credentials_file})")
    print(f"postgres    {ep.database_url}")
    print(f"s3          http://{ep.s3_endpoint}  bucket {ep.s3_bucket}")
    if ep.triton_http_url:
        print(f"triton      http://{ep.triton_http_url}  grpc {ep.triton_grpc_url}")
    for name, url in stack.service_urls.items():
        print(f"{name:<11} {url}")
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in stack.timings.items())
    print(f"timings     {timings}")
    print(f"\nAtelier is up: {gateway_url}" if gateway_url else "\n(no gateway service yet)")


def cmd_up() -> int:
    stack = _stack()
    recorded = state.StackFile(stack.state_dir).records()
    if recorded and all(procs.is_running(r) for r in recorded):
        print(f"already running (see {stack.state_dir / state.STACK_FILE}); `make down` stops it")
        return cmd_status()
    try:
        gateway_url = _start(stack)
    except BaseException:
        stack.stop()
        raise
    _print_summary(stack, gateway_url)
    print("detached: `make down` (python -m deploy.local down) stops everything")
    return 0


def cmd_down() -> int:
    stack = EmbeddedStack(_state_dir())
    stopped = stack.recover()  # stops by recorded pid, verifies none survived
    file = state.StackFile(stack.state_dir)
    if file.path.exists():
        file.update(services={}, gateway_url="")
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def cmd_status() -> int:
    data = state.StackFile(_state_dir()).read()
    records = state.StackFile(_state_dir()).records()
    if not records:
        print("not running")
        return 3
    for record in records:
        alive = "running" if procs.is_running(record) else "DEAD"
        print(f"{record.name:<11} pid {record.pid:<8} {alive}")
    if data.get("gateway_url"):
        print(f"gateway url {data['gateway_url']}")
    return 0 if all(procs.is_running(r) for r in records) else 1


def _seed_demo(stack: EmbeddedStack, gateway_url: str) -> None:
    if importlib.util.find_spec("demo") is None or importlib.util.find_spec("demo.seed") is None:
        return
    try:
        message = importlib.import_module("demo.seed").seed(stack.endpoints, gateway_url)
    except Exception:  # the demo data is a nicety: the platform stays up without it
        traceback.print_exc()
        print("demo seeding failed (see above); the platform is still running")
        return
    if message:
        print(message)


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def cmd_run() -> int:
    stack = _stack()
    # SIGINT too: a shell starting us in the background would otherwise leave it ignored.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupt)
    try:
        gateway_url = _start(stack)
        _print_summary(stack, gateway_url)
        _seed_demo(stack, gateway_url)
        print("Ctrl-C stops everything.", flush=True)
        while True:
            time.sleep(WATCH_INTERVAL_S)
            dead = [r for r in state.StackFile(stack.state_dir).records() if not procs.is_running(r)]
            if dead:
                for record in dead:
                    log = stack.state_dir / "logs" / f"{record.name}.log"
                    print(f"{record.name} (pid {record.pid}) exited; log {log}:\n{procs.log_tail(log)}")
                return 1
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    finally:
        # Further ^C while stopping would leave orphans: ignore them until everything is down.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        print("stopped.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "run", "status"])
    args = parser.parse_args(argv)
    commands = {"up": cmd_up, "down": cmd_down, "run": cmd_run, "status": cmd_status}
    try:
        return commands[args.command]()
    except procs.StartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
