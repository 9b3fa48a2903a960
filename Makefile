# make test | make demo | make lint — non-interactive, safe to run again and again.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install tools test demo lint stack-up stack-down

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# reinstall only when the declared dependencies change
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

install: $(STAMP)

tools:
	@scripts/ensure-tools.sh

test: install tools
	$(BIN)/python -m pytest -q

# `orchestrator demo` once it exists; until then the stack alone
demo: install tools
	@if $(BIN)/orchestrator demo --help >/dev/null 2>&1; then $(BIN)/orchestrator demo; \
	else $(BIN)/orchestrator stack up; fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

stack-up: install tools
	$(BIN)/orchestrator stack up

stack-down: install
	$(BIN)/orchestrator stack down
