"""Benchmarks: each `bench/bench_*.py` prints its figures as ratios against a baseline measured in
the same run. `python -m bench` (what `make bench` runs) runs them all; `python -m bench NAME ...`
runs the named ones."""
