# incentsim: `make demo` and `make test` work on a fresh machine (they create .venv first).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast bench bench-report bench-memory lint clean serve browser docs docs-check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,web,docs]'
	touch $(STAMP)

## (pip writes the bytecode of a regular install, not of an editable one, and Python does not write it
## where PYTHONDONTWRITEBYTECODE is set: every command then compiled incentsim's modules again, ~0.2 s.)
install: $(STAMP)
	@$(BIN)/python -m compileall -q src

## A real comparison on a bundled scenario: separate vs shared targets, 10,000 simulated years.
demo: install
	$(BIN)/incentsim compare scenarios/separate-vs-shared.toml

## The web page on http://127.0.0.1:8080/ (Ctrl-C stops it; `--lang nl` for Dutch: make serve ARGS="--lang nl").
serve: install
	$(BIN)/incentsim serve $(ARGS)

## Debian's headless Chromium and its driver, for the browser test (installed when missing; needs root).
## Without them the browser test is skipped, except in CI, where it fails.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium and chromium-driver (Debian packages) for the browser test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium chromium-driver fonts-dejavu-core >/dev/null) || echo "warning: could not install chromium"; \
	else echo "note: chromium/chromium-driver missing and cannot be installed here (not root or no apt-get)"; fi

## The whole test suite (unit, statistical, property, CLI, browser and end-to-end tests), and the docs' strict build.
test: install browser docs-check
	$(BIN)/python -m pytest -q

## The documentation site in site/ (opens offline: open site/index.html).
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site

## The strict build alone (a broken reference or an undocumented scenario key fails), into a scratch folder.
## (Not --quiet: mkdocs then drops the warnings that --strict counts, and a broken link passes.)
docs-check: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir .pytest_cache/site

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
	rm -rf $(VENV) .pytest_cache .benchmarks .hypothesis build dist site
