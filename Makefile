# SPDX-License-Identifier: Apache-2.0
# `make demo` and `make test` set up everything they need on a fresh Debian machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

NODE_STAMP := node_modules/.installed

.PHONY: demo test lint format system-deps system-deps-test clean

system-deps:
	@./scripts/system-deps.sh

system-deps-test:
	@./scripts/system-deps.sh --test

$(STAMP): pyproject.toml | system-deps
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e . --group test --group lint
	@touch $(STAMP)

## axe-core for the accessibility tests (package.json pins it, package-lock.json locks it).
$(NODE_STAMP): package.json package-lock.json | system-deps-test
	npm ci --no-audit --no-fund
	@touch $(NODE_STAMP)

## Run the sandbox EHR (http://127.0.0.1:8700/) and Quietline (http://localhost:8701/).
demo: $(STAMP)
	$(BIN)/quietline demo

## Run the whole suite (SQLite, or PostgreSQL when TEST_DATABASE_URL is set).
test: $(STAMP) $(NODE_STAMP) system-deps-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Static checks: ruff and mypy --strict.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache .mypy_cache .ruff_cache
