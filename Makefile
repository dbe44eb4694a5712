# `make demo` and `make test` work on a fresh machine with only Python 3.10+ (they create .venv).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench-env clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,plot]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/attribution demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

# benchmark environment: our package plus the peers we compare against (never runtime deps)
bench-env:
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet --upgrade pip
	.venv-bench/bin/python -m pip install --quiet -e '.[plot]' channelattribution psutil

clean:
	rm -rf $(VENV) .venv-bench build *.egg-info .pytest_cache .ruff_cache
