"""Small helpers the benchmarks share: percentiles, reporting, a started embedded stack."""

from __future__ import annotations

import os
import statistics
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarize_ms(samples_s: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {"p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99), "mean_ms": statistics.fmean(ms)}


def report(name: str, value: float | str, unit: str = "") -> None:
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    print(f"{name}: {text}{(' ' + unit) if unit else ''}", flush=True)


def verdict(name: str, ratio: float, *, at_least: float | None = None, at_most: float | None = None) -> None:
    ok = (at_least is None or ratio >= at_least) and (at_most is None or ratio <= at_most)
    target = f">= {at_least}" if at_least is not None else f"<= {at_most}"
    print(f"{name}: {ratio:.3f} (target {target}: {'met' if ok else 'NOT met'})", flush=True)


def cpu_seconds_by_role() -> dict[str, float]:
    """CPU time (user + system) used so far by each part of the running stack, read from /proc.

    Roles: the gateway and community services, every PostgreSQL process together, the NATS server,
    and this process (the load generator). Take two snapshots and subtract to get a phase's cost.
    """
    tick = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat_file:
                stat = stat_file.read()
            with open(f"/proc/{entry.name}/cmdline", "rb") as cmd_file:
                cmdline = cmd_file.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # the process ended meanwhile
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if int(entry.name) == os.getpid():
            role = "load generator"
        elif "services.gateway" in cmdline:
            role = "gateway"
        elif "services.community" in cmdline:
            role = "community"
        elif comm == "postgres" or cmdline.startswith("postgres"):
            role = "postgres"
        elif comm.startswith("nats-server"):
            role = "nats"
        else:
            continue
        totals[role] = totals.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return totals


@contextmanager
def embedded_stack(*, with_triton: bool = False, services: list[str] | None = None) -> Iterator[tuple[object, dict]]:
    """Start a throwaway stack (and optionally services); yields (endpoints, service urls)."""
    from deploy.local.stack import EmbeddedStack

    with tempfile.TemporaryDirectory(prefix="atelier-bench-") as tmp:
        stack = EmbeddedStack(Path(tmp), with_triton=with_triton)
        try:
            endpoints = stack.start()
            urls = stack.start_services(services, gateway_port=0) if services else {}
            yield endpoints, urls
        finally:
            stack.stop()
