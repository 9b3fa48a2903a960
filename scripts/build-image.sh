#!/usr/bin/env bash
# Build the orchestrator image from ./Dockerfile: with Docker when an engine answers,
# else with podman, offline. The podman path makes its Debian base with mmdebstrap
# (cached as a tarball under ORCH_CACHE_DIR/images) and builds every wheel on the host
# into ./wheelhouse, since pip inside a container build may not reach PyPI here.
#   scripts/build-image.sh            IMAGE defaults to the tag the manifests run
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

IMAGE=${IMAGE:-ghcr.io/delivery-orchestrator/orchestrator:0.1.0}
PYTHON=${PYTHON:-.venv/bin/python}

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  exec docker build -t "$IMAGE" .
fi

scripts/ensure-image-tools.sh
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}
BASE=$(scripts/base-image.sh)

# Only the runtime dependencies (what the image installs) plus the build backend; built
# again only when the pins or the declared dependencies change.
stamp=$(cat constraints.txt pyproject.toml | sha256sum | cut -c1-16)
if [ "$(cat wheelhouse/.stamp 2>/dev/null)" != "$stamp" ]; then
  rm -rf wheelhouse
  "$PYTHON" - >wheelhouse.txt <<'PY'
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))
print("\n".join(project["project"]["dependencies"] + project["build-system"]["requires"]))
PY
  "$PYTHON" -m pip wheel -q --disable-pip-version-check -c constraints.txt -r wheelhouse.txt \
    -w wheelhouse
  rm -f wheelhouse.txt
  echo "$stamp" >wheelhouse/.stamp
fi

podman build --network host -t "$IMAGE" \
  --build-arg BASE_IMAGE="$BASE" \
  --build-arg PIP_FLAGS="--no-index --find-links /src/wheelhouse" .
