"""Run the benchmarks one after another, each in its own process (each starts its own stack).

    python -m bench                 # all of bench/bench_*.py
    python -m bench events upload   # only bench_events and bench_upload
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).parent


def main() -> int:
    available = sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py"))
    wanted = sys.argv[1:] or available
    unknown = [w for w in wanted if w not in available]
    if unknown:
        print(f"unknown benchmark(s): {unknown}; available: {available}")
        return 2
    failed = []
    for name in wanted:
        print(f"\n=== bench {name} ===", flush=True)
        started = time.monotonic()
        rc = subprocess.call([sys.executable, "-m", f"bench.bench_{name}"])
        outcome = "ok" if rc == 0 else f"exit {rc}"
        print(f"=== bench {name}: {outcome} in {time.monotonic() - started:.0f} s", flush=True)
        if rc != 0:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
