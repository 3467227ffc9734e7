"""Small helpers the benchmarks share: percentiles, reporting, a started embedded stack."""

from __future__ import annotations

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
