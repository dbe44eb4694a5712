# `make demo` and `make test` work on a fresh machine with only Python 3.10+ (they create .venv).
# Each target installs what it needs into .venv under its own marker: the runtime and plot extra
# for the demo (.installed-run), the dev tools for the tests (.installed-dev), the docs tools for
# the site (.installed-docs). They share the one .venv, so `make demo` then `make test` works.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
DOCS_STAMP := $(VENV)/.installed-docs
# --no-compile: modules are byte-compiled when first imported, not all at install (half the time)
PIP := $(BIN)/python -m pip install --quiet --no-compile

.PHONY: demo test lint docs bench-env clean test-pandas2 bench-quick

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) -e '.[plot]'
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) -e '.[dev,plot]'
	touch $@

$(DOCS_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) -e '.[docs,notebooks]'
	touch $@

demo: $(RUN_STAMP)
	$(BIN)/attribution demo

test: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n auto

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# the documentation site into site/ (mkdocs.yml); --strict: a warning fails the build
docs: $(DOCS_STAMP)
	$(BIN)/mkdocs build --strict --site-dir $${SITE:-site}

# benchmark environment: our package plus the peers we compare against (never runtime deps)
bench-env:
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet --upgrade pip
	.venv-bench/bin/python -m pip install --quiet -e '.[plot]' channelattribution psutil

clean:
	rm -rf $(VENV) .venv-bench build *.egg-info .pytest_cache .ruff_cache site

# the quick concentration grid (CI runs it); the full grid: `.venv/bin/attribution bench concentration`
bench-quick: $(RUN_STAMP)
	$(BIN)/attribution --quiet bench concentration --quick --n-jobs 2 --out $${OUT:-/tmp/attribution-bench-quick}

# the same tests on the oldest pandas we support (CI runs this too)
.venv-pandas2/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-pandas2
	.venv-pandas2/bin/python -m pip install --quiet --upgrade pip
	.venv-pandas2/bin/python -m pip install --quiet 'pandas>=2.2,<2.3' 'numpy<2.3' -e '.[dev,plot]'
	touch .venv-pandas2/.installed

test-pandas2: .venv-pandas2/.installed
	.venv-pandas2/bin/python -m pytest -q -p no:cacheprovider -n auto
