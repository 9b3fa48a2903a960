#!/usr/bin/env bash
# The ORCH_TESTCONTAINERS=1 path, exercised: build the Kafka and PostgreSQL test images
# (scripts/build-test-images.sh), then run a representative subset of the integration
# tests with the fixtures starting those images through a Docker API. With Docker when
# an engine answers; else podman's Docker-compatible API (`podman system service`) on a
# socket under .run/podman, started here and stopped at the end. Ryuk, testcontainers'
# reaper, is an image from a registry, so it is disabled: the fixtures remove their
# containers themselves.
#   scripts/testcontainers-test.sh [pytest args]   default: the subset below
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-.venv/bin/python}
# the projector against the broker and database, and one e2e flow (every service a
# process); then, on fresh containers, the image test: the dev overlay's Deployments run
# from the orchestrator image (`make image` first). Arguments replace both.
SUBSET=(tests/integration/test_projector.py
        "tests/e2e/test_flow.py::test_the_example_spec_reaches_project_completed_with_one_rework_loop")
IMAGE_TEST=(-m image tests/image)
[ $# -gt 0 ] && SUBSET=("$@") && IMAGE_TEST=()
run() { "$PYTHON" -m pytest -q "${SUBSET[@]}" && { [ ${#IMAGE_TEST[@]} -eq 0 ] \
  || "$PYTHON" -m pytest -q "${IMAGE_TEST[@]}"; }; }

scripts/build-test-images.sh
export ORCH_TESTCONTAINERS=1 TESTCONTAINERS_RYUK_DISABLED=true
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  run
  exit
fi

export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}
sock=$PWD/.run/podman/podman.sock
mkdir -p "$(dirname "$sock")" && rm -f "$sock"
podman system service --time=0 "unix://$sock" </dev/null >"$(dirname "$sock")/service.log" 2>&1 &
service=$!
trap 'kill "$service" 2>/dev/null; wait "$service" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  podman --url "unix://$sock" version >/dev/null 2>&1 && break
  kill -0 "$service" 2>/dev/null || { cat "$(dirname "$sock")/service.log" >&2; exit 1; }
  sleep 0.2
done
export DOCKER_HOST=unix://$sock
run
