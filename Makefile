# make test | make demo | make lint — non-interactive, safe to run again and again.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install tools test demo lint stack-up stack-down image image-test test-images \
	testcontainers-test

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

SPEC ?= examples/specs/shop.yaml
demo: install tools
	$(BIN)/orchestrator demo --spec $(SPEC)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# bandit over the code, pip-audit over constraints.txt; accepted findings: security/accepted.toml
.PHONY: audit
audit: install
	$(BIN)/python scripts/audit.py

stack-up: install tools
	$(BIN)/orchestrator stack up

stack-down: install
	$(BIN)/orchestrator stack down

.PHONY: bench
$(VENV)/.bench: $(STAMP)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[bench]'
	touch $@

bench: install $(VENV)/.bench
	@scripts/ensure-tools.sh bench
	$(BIN)/python -m bench.run

# fault battery (pytest marker `reliability`); figures -> reliability/latest.md and .json
.PHONY: reliability
reliability: install tools
	$(BIN)/python scripts/reliability.py

# the image every Deployment runs: Docker when an engine answers, else podman (offline)
image: install
	scripts/build-image.sh

# the dev overlay's Deployments run from that image, the way the manifests run them
image-test: image tools
	$(BIN)/python -m pytest -q -m image tests/image

# Kafka and PostgreSQL images on the same Debian base, for the ORCH_TESTCONTAINERS=1 fixtures
test-images: install tools
	scripts/build-test-images.sh

# a subset of the integration tests and the image test with ORCH_TESTCONTAINERS=1, through
# podman's Docker API (started and stopped here) when there is no Docker engine
testcontainers-test: image tools
	scripts/testcontainers-test.sh
