# TubeSensei developer tasks. Every target creates the virtualenv it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test test-fast lint demo bench config-reference clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install tubesensei with the dev extras

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check tubesensei tests migrations benchmarks

# Tests run in TEST_WORKERS processes (pytest-xdist; the server tests share one of them).
TEST_WORKERS ?= 2

test: $(STAMP)  ## lint, then the whole test suite with branch coverage (fails under 85%)
	$(BIN)/ruff check tubesensei tests migrations benchmarks
	$(BIN)/coverage erase
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --cov=tubesensei --cov-branch --cov-report=term-missing:skip-covered --cov-fail-under=85 --durations=15 $(PYTEST_ARGS)

test-fast: $(STAMP)  ## the unit tier alone (pure logic, the ledger, the policy): seconds, no coverage
	$(BIN)/python -m pytest -q tests/unit $(PYTEST_ARGS)

demo: $(STAMP)  ## the whole product against a built-in fake YouTube (DEMO_ARGS="--keep ...")
	$(BIN)/tubesensei demo $(DEMO_ARGS)

# BENCH_ARGS=--quick: small sizes, the whole run within two minutes; --only startup,queries
bench: $(STAMP)  ## every benchmark's targets in one table (benchmarks/results/bench.json)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

config-reference: $(STAMP)  ## regenerate tubesensei.toml and docs/configuration.md from the settings model
	$(BIN)/python -c "from tubesensei.config import render_reference_config as r; open('tubesensei.toml','w').write(r())"
	$(BIN)/python -m tubesensei.config_docs docs/configuration.md

clean:  ## remove the virtualenv, build output and caches
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .coverage .coverage.* htmlcov
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
