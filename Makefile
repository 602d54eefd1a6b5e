# Two entry points for people (see README): `make run` and `make test`. Everything else is a helper.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint setup system-deps schema clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## Install, prepare the demo (knowledge index, database, demo accounts) and start the web app.
run: setup
	$(BIN)/simulator serve

## Install everything (Python packages, Debian chromium + CJK font) and run every suite.
test: setup system-deps
	bash scripts/test-all.sh

## The fast suite only (seconds).
test-fast: setup
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check simulator web tests bench
	$(BIN)/mypy

system-deps:
	bash scripts/system-deps.sh

schema: setup
	$(BIN)/simulator schema --write --guide

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
