"""The benchmark framework: verdicts against a goal's own threshold, honest percentiles,
alternation, CPU per process tree, and the summary's exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from bench import __main__ as bench_main
from bench.harness import (
    LOAD_GENERATOR,
    CpuMeter,
    Goal,
    Results,
    alternate,
    min_samples,
    paired_ratios,
    percentile,
    platform_cpu_ms,
    show_percentile,
    spread,
)

RATIO = Goal("triton", "Triton images/s at 32", "ORT forward images/s", ">=", 0.9)
P99 = Goal("events.p99", "POST -> subscriber p99", "", "<=", 20.0, "ms")


def test_goal_compares_with_its_own_threshold() -> None:
    assert RATIO.met(0.9) and RATIO.met(1.2)
    assert not RATIO.met(0.77)
    assert P99.met(19.9) and not P99.met(20.1)
    assert not RATIO.met(float("nan"))


def test_p99_needs_a_few_hundred_samples() -> None:
    assert min_samples(99) == 300 and min_samples(50) == 6
    assert percentile([float(i) for i in range(20)], 99) is None  # 20 events: the max, not a p99
    assert "n too small" in show_percentile([1.0] * 20, 99)
    samples = [float(i) for i in range(1, 1001)]
    assert percentile(samples, 99) == 990.0
    assert percentile(samples, 50) == 500.0


def test_spread_gives_median_and_range() -> None:
    s = spread([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (s.median, s.low, s.high, s.n) == (3.0, 1.0, 5.0, 5)
    assert s.q1 == 2.0 and s.q3 == 4.0
    assert "range 1..5" in s.show() and "IQR 2..4" in s.show()


def test_alternate_runs_every_variant_each_round_in_turn() -> None:
    calls: list[str] = []
    out = alternate(4, {"baseline": lambda: calls.append("b") or 1, "system": lambda: calls.append("s") or 2})
    assert out == {"baseline": [1] * 4, "system": [2] * 4}
    assert calls == ["b", "s", "s", "b", "b", "s", "s", "b"]
    assert paired_ratios([2.0, 3.0], [4.0, 3.0]) == [0.5, 1.0]


def test_cpu_meter_counts_a_process_tree_and_keeps_the_load_generator_apart() -> None:
    burn = "import time\nt=time.process_time()\nwhile time.process_time()-t<0.3: pass\ntime.sleep(5)"
    parent = subprocess.Popen([sys.executable, "-c",
                               f"import subprocess,sys,time; subprocess.Popen([sys.executable,'-c',{burn!r}]);"
                               "time.sleep(5)"])
    try:
        meter = CpuMeter({"service": parent.pid})
        time.sleep(1.5)  # the grandchild burns 0.3 s of CPU
        t = time.process_time()
        while time.process_time() - t < 0.2:
            pass
        totals = meter.snapshot()
        assert totals["service"] >= 0.25  # the grandchild's CPU belongs to its root
        assert totals[LOAD_GENERATOR] >= 0.15  # this process, apart from the platform
    finally:
        for child in _children(parent.pid):
            os.kill(child, 15)
        parent.terminate()
        parent.wait()


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                out.append(int(entry))
    return out


def test_results_file_records_each_verdict(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATELIER_BENCH_RESULTS", str(tmp_path))
    results = Results("inference")
    assert not results.check(RATIO, 0.77)
    assert not results.check(P99, None)
    doc = json.loads((tmp_path / "inference.json").read_text())
    assert [c["status"] for c in doc["checks"]] == ["not met", "n too small"]
    assert doc["checks"][0]["goal"]["threshold"] == 0.9


def test_throughput_goal_is_judged_on_the_lower_of_throughput_and_cpu_cost(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ATELIER_BENCH_RESULTS", str(tmp_path))
    results = Results("community")
    goal = Goal("feed", "gateway req/s", "monolith req/s", ">=", 0.8)
    # Throughput looks fine (more processes got more time slices), CPU per request does not.
    assert not results.check_throughput(goal, [95.0, 100.0], [100.0, 100.0], system_cpu_ms=3.3, baseline_cpu_ms=1.9)
    assert results.checks[-1].measured == pytest.approx(1.9 / 3.3)
    assert results.check_throughput(goal, [90.0, 90.0], [100.0, 100.0], system_cpu_ms=2.0, baseline_cpu_ms=1.9)
    assert results.checks[-1].measured == pytest.approx(0.9)


def test_platform_cpu_leaves_out_the_load_generator() -> None:
    rounds_ = [{"gateway": 1.0, "community": 1.0, LOAD_GENERATOR: 5.0}, {"gateway": 2.0, "community": 2.0}]
    assert platform_cpu_ms(rounds_) == 3.0


def _write(tmp_path, name: str, statuses: list[str]) -> None:
    checks = [{"goal": {"name": f"g{i}", "figure": "f", "baseline": "b", "comparator": ">=", "threshold": 0.9,
                        "unit": ""}, "measured": 0.5, "status": s, "spread": "", "note": ""}
              for i, s in enumerate(statuses)]
    (tmp_path / f"{name}.json").write_text(json.dumps({"bench": name, "figures": {}, "checks": checks}))


def test_summary_fails_on_an_unmet_goal_a_crash_or_no_verdict(tmp_path) -> None:
    _write(tmp_path, "a", ["met", "met"])
    assert bench_main.summarize({"a": 0}, tmp_path)[1:] == (True, True)
    _write(tmp_path, "b", ["met", "not met"])
    rows, all_met, none_crashed = bench_main.summarize({"a": 0, "b": 0}, tmp_path)
    assert (all_met, none_crashed) == (False, True)
    assert [r[-1] for r in rows] == ["met", "met", "met", "not met"]
    assert bench_main.summarize({"c": 0}, tmp_path)[1] is False  # ran, checked nothing
    assert bench_main.summarize({"a": 3}, tmp_path)[2] is False  # crashed


def test_main_exit_code_follows_verdicts_unless_no_verdict(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_run(name: str, results_dir) -> tuple[int, float]:
        _write(results_dir, name, ["not met"])
        return 0, 0.0

    monkeypatch.setattr(bench_main, "available", lambda: ["x"])
    monkeypatch.setattr(bench_main, "run_one", fake_run)
    assert bench_main.main(["x"]) == 1
    assert bench_main.main(["--no-verdict", "x"]) == 0
    assert bench_main.main(["nope"]) == 2


def test_a_legacy_verdict_reaches_the_result_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import common, harness

    monkeypatch.setenv("ATELIER_BENCH_RESULTS", str(tmp_path))
    monkeypatch.setenv("ATELIER_BENCH_NAME", "training")
    monkeypatch.setattr(harness, "_CURRENT", None)
    common.verdict("train_vs_plain_throughput_ratio", 0.5, at_least=0.95)
    common.verdict("dcgan_swd_vs_untrained_ratio", 0.3, at_most=0.5)
    doc = json.loads((tmp_path / "training.json").read_text())
    assert [c["status"] for c in doc["checks"]] == ["not met", "met"]
