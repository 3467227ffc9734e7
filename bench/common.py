"""Small helpers the benchmarks share: reporting and a started embedded stack.

The measuring framework (goals, alternation, spread, percentiles, CPU) is `bench/harness.py`;
`verdict` here declares a goal on the spot for benchmarks written before it, so their verdicts
still reach the summary table and the exit code.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.harness import Goal, current


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
