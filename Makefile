# incentsim: `make demo` and `make test` work on a fresh machine (they create .venv first).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast bench bench-report bench-memory lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## A real comparison on a bundled scenario: separate vs shared targets, 10,000 simulated years.
demo: install
	$(BIN)/incentsim compare scenarios/separate-vs-shared.toml

## The whole test suite (unit, statistical, property, CLI and end-to-end tests).
test: install
	$(BIN)/python -m pytest -q

## The suite without the slow statistical and end-to-end tests.
test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

## Benchmarks (pytest-benchmark), then the one-table report with ratios.
bench: install
	$(BIN)/python -m pytest benchmarks -q --benchmark-only

bench-report: install
	$(BIN)/python -m benchmarks.report

## Peak memory of compare up to 1,000,000 fixed-behaviour replications (summaries stream: flat in N).
bench-memory: install
	$(BIN)/python -m benchmarks.streaming_memory

lint: install
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks .hypothesis build dist
