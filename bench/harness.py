"""What every benchmark shares: goals declared once, alternated rounds, median and spread,
percentiles that refuse to speak from too few samples, CPU per process from /proc, and a result
file per benchmark process that `python -m bench` gathers into one table.

A goal is declared once (name, figure, baseline, comparator, threshold) and checked against the
figure measured in the same run; the verdict is never computed anywhere else.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

T = TypeVar("T")
RESULTS_DIR_ENV = "ATELIER_BENCH_RESULTS"  # where each benchmark process writes <name>.json
NAME_ENV = "ATELIER_BENCH_NAME"
ROUNDS_ENV = "ATELIER_BENCH_ROUNDS"
LOAD_GENERATOR = "load generator"


# -- goals ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Goal:
    """One target: `figure` (what is measured) compared with `threshold` by `comparator`.

    `baseline` names what a ratio is taken against ("" for an absolute figure such as a p99).
    """

    name: str
    figure: str
    baseline: str
    comparator: Literal[">=", "<="]
    threshold: float
    unit: str = ""

    def met(self, measured: float) -> bool:
        if math.isnan(measured):
            return False
        return measured >= self.threshold if self.comparator == ">=" else measured <= self.threshold

    def target(self) -> str:
        return f"{self.comparator} {self.threshold:g}{(' ' + self.unit) if self.unit else ''}"


# -- statistics ----------------------------------------------------------------------------------

def min_samples(q: float) -> int:
    """Samples needed before the q-th percentile means something: at least 3 beyond it
    (p50: 6, p90: 30, p99: 300)."""
    return math.ceil(3 / (1 - q / 100) - 1e-9) if q < 100 else sys.maxsize


def percentile(samples: Sequence[float], q: float) -> float | None:
    """The q-th percentile (nearest rank), or None when there are too few samples for it."""
    if len(samples) < min_samples(q):
        return None
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def show_percentile(samples: Sequence[float], q: float, unit: str = "ms") -> str:
    value = percentile(samples, q)
    if value is None:
        return f"n too small (n={len(samples)} < {min_samples(q)} for p{q:g})"
    return f"{value:.2f} {unit}"


@dataclass(frozen=True)
class Spread:
    median: float
    q1: float
    q3: float
    low: float
    high: float
    n: int

    def show(self, unit: str = "", digits: int = 3) -> str:
        u = f" {unit}" if unit else ""
        f = f"{{:.{digits}g}}"
        text = f"{f.format(self.median)}{u} (range {f.format(self.low)}..{f.format(self.high)}"
        if self.n >= 4:
            text += f", IQR {f.format(self.q1)}..{f.format(self.q3)}"
        return text + f", n={self.n})"


def spread(values: Sequence[float]) -> Spread:
    if not values:
        nan = float("nan")
        return Spread(nan, nan, nan, nan, nan, 0)
    ordered = sorted(values)
    if len(ordered) >= 2:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    return Spread(statistics.median(ordered), q1, q3, ordered[0], ordered[-1], len(ordered))


def paired_ratios(system: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """system[i] / baseline[i] for rounds that ran side by side (same load on the machine)."""
    return [s / b if b else float("nan") for s, b in zip(system, baseline, strict=True)]


# -- alternation ---------------------------------------------------------------------------------

def _order(names: list[str], round_index: int) -> list[str]:
    """Odd rounds run the variants in reverse, so no variant always runs first (warm) or last."""
    return names if round_index % 2 == 0 else names[::-1]


def alternate(rounds: int, variants: Mapping[str, Callable[[], T]]) -> dict[str, list[T]]:
    """Run every variant once per round, alternating; returns each variant's per-round results."""
    out: dict[str, list[T]] = {name: [] for name in variants}
    for r in range(rounds):
        for name in _order(list(variants), r):
            out[name].append(variants[name]())
    return out


async def alternate_async(rounds: int, variants: Mapping[str, Callable[[], Awaitable[T]]]) -> dict[str, list[T]]:
    out: dict[str, list[T]] = {name: [] for name in variants}
    for r in range(rounds):
        for name in _order(list(variants), r):
            out[name].append(await variants[name]())
    return out


def rounds(default: int) -> int:
    return max(1, int(os.environ.get(ROUNDS_ENV, default)))


# -- CPU per process -----------------------------------------------------------------------------

def _proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds user + system) of every process we may read."""
    tick = os.sysconf("SC_CLK_TCK")
    table: dict[int, tuple[int, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat_file:
                stat = stat_file.read()
        except OSError:
            continue  # it ended meanwhile
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    return table


class CpuMeter:
    """CPU seconds per role: each root pid with all its descendants (postgres with its backends,
    Triton with its Python stubs), and this process with its other children as the load generator.
    Processes outside this benchmark's tree (other people's work on the machine) are not counted.
    """

    def __init__(self, roots: Mapping[str, int]) -> None:
        self.roots = {pid: role for role, pid in roots.items()}

    def _role(self, pid: int, table: dict[int, tuple[int, float]]) -> str | None:
        me, seen = os.getpid(), 0
        while pid in table and seen < 64:
            if pid in self.roots:
                return self.roots[pid]
            if pid == me:
                return LOAD_GENERATOR
            pid, seen = table[pid][0], seen + 1
        return None

    def snapshot(self) -> dict[str, float]:
        table = _proc_table()
        totals: dict[str, float] = {}
        for pid, (_, cpu) in table.items():
            role = self._role(pid, table)
            if role is not None:
                totals[role] = totals.get(role, 0.0) + cpu
        return totals


def cpu_ms_per_unit(before: Mapping[str, float], after: Mapping[str, float], units: float) -> dict[str, float]:
    """CPU milliseconds per request (or image) of each role between two snapshots."""
    units = max(units, 1.0)
    return {role: 1000 * (after[role] - before.get(role, 0.0)) / units for role in after}


def platform_cpu_ms(per_round: Sequence[Mapping[str, float]]) -> float:
    """Median over rounds of the CPU ms per unit of every platform process together."""
    return statistics.median(sum(ms for role, ms in c.items() if role != LOAD_GENERATOR) for c in per_round)


def median_roles(per_round: Sequence[Mapping[str, float]]) -> dict[str, float]:
    roles = {role for c in per_round for role in c}
    return {role: statistics.median(c.get(role, 0.0) for c in per_round) for role in roles}


def show_cpu(label: str, per_unit: Mapping[str, float], unit: str = "request") -> None:
    """Platform roles first, summed; the load generator apart (it is not the platform's cost)."""
    platform = {r: ms for r, ms in per_unit.items() if r != LOAD_GENERATOR}
    parts = ", ".join(f"{role} {ms:.2f}" for role, ms in sorted(platform.items(), key=lambda kv: -kv[1]))
    print(f"{label}: CPU ms per {unit}: platform {sum(platform.values()):.2f} ({parts}); "
          f"load generator {per_unit.get(LOAD_GENERATOR, 0.0):.2f} (not counted)", flush=True)


# -- results -------------------------------------------------------------------------------------

Status = Literal["met", "not met", "n too small"]


@dataclass
class Check:
    goal: Goal
    measured: float | None
    status: Status
    spread: str = ""
    note: str = ""


@dataclass
class Results:
    """The figures and verdicts of one benchmark process, rewritten to its result file on every
    verdict so that what was measured before a crash still reaches the summary."""

    bench: str
    checks: list[Check] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)

    def figure(self, name: str, value: float | Spread | str, unit: str = "") -> None:
        if isinstance(value, Spread):
            text = value.show(unit)
        elif isinstance(value, float):
            text = f"{value:.4g}{(' ' + unit) if unit else ''}"
        else:
            text = f"{value}{(' ' + unit) if unit else ''}"
        self.figures[name] = text
        print(f"{name}: {text}", flush=True)

    def check(self, goal: Goal, measured: float | None, *, spread_of: Spread | None = None,
              note: str = "") -> bool:
        """Record the verdict of `goal`; `measured` None means too few samples to say (not met)."""
        if measured is None:
            status: Status = "n too small"
        else:
            status = "met" if goal.met(measured) else "not met"
        shown = "n too small" if measured is None else f"{measured:.3f}"
        extra = f" spread {spread_of.show()}" if spread_of is not None else ""
        base = f" vs {goal.baseline}" if goal.baseline else ""
        print(f"VERDICT {goal.name}: {goal.figure}{base} = {shown} (goal {goal.target()}): "
              f"{status.upper() if status != 'met' else 'met'}{extra}{(' — ' + note) if note else ''}",
              flush=True)
        self.checks.append(Check(goal, measured, status, spread_of.show() if spread_of else "", note))
        self.write()
        return status == "met"

    def check_throughput(self, goal: Goal, system: Sequence[float], baseline: Sequence[float], *,
                         system_cpu_ms: float, baseline_cpu_ms: float) -> bool:
        """A throughput goal, judged on the lower of two ratios: the paired per-round throughput
        ratio (median) and the CPU cost ratio (baseline CPU per unit / the system's, load
        generator excluded). On a machine shared with other work the scheduler hands a path of
        several processes more time slices than one process, so throughput alone can flatter
        the system; where the machine is the system's alone and the work CPU-bound, the two agree.
        """
        ratios = spread(paired_ratios(system, baseline))
        cpu_ratio = baseline_cpu_ms / system_cpu_ms if system_cpu_ms > 0 else float("nan")
        measured = min(ratios.median, cpu_ratio)
        note = (f"throughput ratio {ratios.median:.3f}, CPU cost ratio {cpu_ratio:.3f} "
                f"({baseline_cpu_ms:.2f} vs {system_cpu_ms:.2f} CPU ms per unit); judged on the lower")
        return self.check(goal, measured, spread_of=ratios, note=note)

    def to_json(self) -> dict[str, Any]:
        return {"bench": self.bench, "figures": self.figures,
                "checks": [{**asdict(c), "goal": asdict(c.goal)} for c in self.checks]}

    def write(self) -> None:
        folder = os.environ.get(RESULTS_DIR_ENV)
        if not folder:
            return
        path = Path(folder) / f"{self.bench}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1))
        tmp.replace(path)


_CURRENT: Results | None = None


def current() -> Results:
    """This process's results (the benchmark's name from `python -m bench`, else its file name)."""
    global _CURRENT
    if _CURRENT is None:
        name = os.environ.get(NAME_ENV) or Path(sys.argv[0]).stem.removeprefix("bench_")
        _CURRENT = Results(name)
    return _CURRENT
