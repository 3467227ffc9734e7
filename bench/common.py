"""Small helpers the benchmarks share: reporting and a started embedded stack.

The measuring framework (goals, alternation, spread, percentiles, CPU) is `bench/harness.py`;
`verdict` here declares a goal on the spot for benchmarks written before it, so their verdicts
still reach the summary table and the exit code.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.harness import Goal, current, percentile


def summarize_ms(samples_s: Sequence[float]) -> dict[str, float]:
    """p50 / p99 / mean in ms; a percentile with too few samples behind it is NaN, not a guess."""
    ms = [s * 1000 for s in samples_s]
    p50, p99 = percentile(ms, 50), percentile(ms, 99)
    return {"p50_ms": float("nan") if p50 is None else p50, "p99_ms": float("nan") if p99 is None else p99,
            "mean_ms": statistics.fmean(ms) if ms else float("nan"), "n": float(len(ms))}


def report(name: str, value: float | str, unit: str = "") -> None:
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    print(f"{name}: {text}{(' ' + unit) if unit else ''}", flush=True)


def verdict(name: str, ratio: float, *, at_least: float | None = None, at_most: float | None = None) -> None:
    if at_least is not None:
        goal = Goal(name, name, "", ">=", at_least)
    elif at_most is not None:
        goal = Goal(name, name, "", "<=", at_most)
    else:
        raise ValueError("a verdict needs at_least or at_most")
    current().check(goal, ratio)


@contextmanager
def started_stack(*, with_triton: bool = False, services: list[str] | None = None) -> Iterator[Any]:
    """A throwaway embedded stack (and optionally services), stopped by pid at the end."""
    from deploy.local.stack import EmbeddedStack

    with tempfile.TemporaryDirectory(prefix="atelier-bench-") as tmp:
        stack = EmbeddedStack(Path(tmp), with_triton=with_triton)
        try:
            stack.start()
            if services:
                stack.start_services(services, gateway_port=0)
            yield stack
        finally:
            stack.stop()


@contextmanager
def embedded_stack(*, with_triton: bool = False, services: list[str] | None = None) -> Iterator[tuple[object, dict]]:
    """Start a throwaway stack (and optionally services); yields (endpoints, service urls)."""
    with started_stack(with_triton=with_triton, services=services) as stack:
        yield stack.endpoints, dict(stack.service_urls)


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))
