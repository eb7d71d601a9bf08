# incentsim: `make demo` and `make test` work on a fresh machine (they create .venv first).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast bench bench-report lint docs docs-check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,docs]'
	touch $(STAMP)

install: $(STAMP)

## A real comparison on a bundled scenario: separate vs shared targets, 10,000 simulated years.
demo: install
	$(BIN)/incentsim compare scenarios/separate-vs-shared.toml

## The whole test suite (unit, statistical, property, CLI and end-to-end tests), and the docs' strict build.
test: install docs-check
	$(BIN)/python -m pytest -q

## The documentation site in site/ (opens offline: open site/index.html).
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site

## The strict build alone (a broken reference or an undocumented scenario key fails), into a scratch folder.
docs-check: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --quiet --site-dir .pytest_cache/site

## The suite without the slow statistical and end-to-end tests.
test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

## Benchmarks (pytest-benchmark), then the one-table report with ratios.
bench: install
	$(BIN)/python -m pytest benchmarks -q --benchmark-only

bench-report: install
	$(BIN)/python -m benchmarks.report

lint: install
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks .hypothesis build dist site
