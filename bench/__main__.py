"""Run the benchmarks one after another, each in its own process (each starts its own stack),
then print one table of every goal they checked. The exit code follows the verdicts.

    python -m bench                      # all of bench/bench_*.py
    python -m bench events upload        # only bench_events and bench_upload
    python -m bench --no-verdict ...     # the same table, exit 0 unless a benchmark crashed

A goal that was not met, or whose figure had too few samples to say ("n too small"), fails the
run; so does a benchmark that crashed or checked nothing it declared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import NAME_ENV, RESULTS_DIR_ENV

BENCH_DIR = Path(__file__).parent


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py"))


def run_one(name: str, results_dir: Path) -> tuple[int, float]:
    print(f"\n=== bench {name} === (load average {load_average()}: other work on this machine skews figures)",
          flush=True)
    started = time.monotonic()
    env = {**os.environ, RESULTS_DIR_ENV: str(results_dir), NAME_ENV: name}
    rc = subprocess.call([sys.executable, "-m", f"bench.bench_{name}"], env=env)
    elapsed = time.monotonic() - started
    print(f"=== bench {name}: {'ok' if rc == 0 else f'exit {rc}'} in {elapsed:.0f} s", flush=True)
    return rc, elapsed


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def load(results_dir: Path, name: str) -> dict[str, Any] | None:
    path = results_dir / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def table(rows: list[list[str]]) -> str:
    header = ["bench", "goal", "figure", "target", "measured", "verdict"]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def summarize(outcomes: dict[str, int], results_dir: Path) -> tuple[list[list[str]], bool, bool]:
    """(table rows, every goal met, no benchmark crashed)."""
    rows: list[list[str]] = []
    all_met, none_crashed = True, True
    for name, rc in outcomes.items():
        doc = load(results_dir, name)
        for check in (doc or {}).get("checks", []):
            goal = check["goal"]
            figure = goal["figure"] + (f" / {goal['baseline']}" if goal["baseline"] else "")
            measured = "—" if check["measured"] is None else f"{check['measured']:.3f}"
            rows.append([name, goal["name"], figure,
                         f"{goal['comparator']} {goal['threshold']:g}{(' ' + goal['unit']) if goal['unit'] else ''}",
                         measured, check["status"]])
            all_met &= check["status"] == "met"
        if rc != 0:
            rows.append([name, "(benchmark)", "process exit code", "0", str(rc), "crashed"])
            none_crashed = False
        elif not (doc or {}).get("checks"):
            rows.append([name, "(benchmark)", "verdicts recorded", ">= 1", "0", "no verdict"])
            all_met = False
    return rows, all_met, none_crashed


def main(argv: list[str]) -> int:
    no_verdict = "--no-verdict" in argv
    wanted = [a for a in argv if a != "--no-verdict"] or available()
    unknown = [w for w in wanted if w not in available()]
    if unknown:
        print(f"unknown benchmark(s): {unknown}; available: {available()}")
        return 2
    with tempfile.TemporaryDirectory(prefix="atelier-bench-results-") as tmp:
        results_dir = Path(tmp)
        outcomes = {name: run_one(name, results_dir)[0] for name in wanted}
        rows, all_met, none_crashed = summarize(outcomes, results_dir)
    print("\n=== summary ===")
    print(table(rows) if rows else "(no goals checked)")
    if not none_crashed:
        return 1
    if not all_met:
        print("\nsome goals are not met" + (" (--no-verdict: exit 0)" if no_verdict else ""))
        return 0 if no_verdict else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
