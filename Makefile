# `make demo` and `make test` work on a fresh machine with only Python 3.10+ (they create .venv).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench-env clean test-pandas2 bench-quick

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,plot]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/attribution demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# benchmark environment: our package plus the peers we compare against (never runtime deps)
bench-env:
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet --upgrade pip
	.venv-bench/bin/python -m pip install --quiet -e '.[plot]' channelattribution psutil

clean:
	rm -rf $(VENV) .venv-bench build *.egg-info .pytest_cache .ruff_cache

# the quick concentration grid (CI runs it); the full grid: `.venv/bin/attribution bench concentration`
bench-quick: $(STAMP)
	$(BIN)/attribution --quiet bench concentration --quick --n-jobs 2 --out $${OUT:-/tmp/attribution-bench-quick}

# the same tests on the oldest pandas we support (CI runs this too)
.venv-pandas2/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-pandas2
	.venv-pandas2/bin/python -m pip install --quiet --upgrade pip
	.venv-pandas2/bin/python -m pip install --quiet 'pandas>=2.2,<2.3' 'numpy<2.3' -e '.[dev,plot]'
	touch .venv-pandas2/.installed

test-pandas2: .venv-pandas2/.installed
	.venv-pandas2/bin/python -m pytest -q -p no:cacheprovider
