# syntax=docker/dockerfile:1
# The orchestrator image: one image, every service (`orchestrator service NAME`).
#
#   docker build -t ghcr.io/delivery-orchestrator/orchestrator:0.1.0 .
#
# With Docker this builds from the official Python image and PyPI. `make image` without
# a Docker engine builds the same file with podman, offline: a Debian base made by
# mmdebstrap (BASE_IMAGE) and wheels built on the host into ./wheelhouse
# (PIP_FLAGS="--no-index --find-links /src/wheelhouse").
#
# Stage 1 installs the pinned dependencies (constraints.txt) into a virtualenv, then a
# wheel of this project. Stage 2 is the runtime: the venv only, no compilers, no pip
# cache, a non-root user, and nothing written to the root filesystem at run time
# (Kubernetes runs it with readOnlyRootFilesystem; HOME and caches point at /tmp).

ARG BASE_IMAGE=python:3.11.14-slim-bookworm

FROM ${BASE_IMAGE} AS builder
ARG PIP_FLAGS=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# dependency layer first: re-run only when the pins change. `wheelhous[e]` copies the
# host-built wheels when the directory exists and nothing otherwise.
COPY constraints.txt pyproject.toml ./
COPY wheelhous[e] ./wheelhouse/
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && pip install ${PIP_FLAGS} --constraint constraints.txt --requirement requirements.txt
COPY orchestrator ./orchestrator
COPY services ./services
RUN pip wheel ${PIP_FLAGS} --no-deps --wheel-dir /wheels . \
 && pip install --no-index --no-deps /wheels/*.whl \
 && pip check

FROM ${BASE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="delivery-orchestrator" \
      org.opencontainers.image.source="https://github.com/delivery-orchestrator/orchestrator" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 orchestrator \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
      --shell /usr/sbin/nologin orchestrator \
 && install -d -o 10001 -g 10001 /var/run/orchestrator /var/lib/orchestrator/artifacts
COPY --from=builder /opt/venv /opt/venv
# Avro schemas (the event catalog) for `orchestrator schemas check` and the codec
COPY schemas /app/schemas
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/cache \
    ORCH_CACHE_DIR=/tmp/cache \
    ORCH_RUN_DIR=/var/run/orchestrator \
    ORCH_SCHEMA_DIR=/app/schemas \
    ORCH_ARTIFACT_ROOT=/var/lib/orchestrator/artifacts \
    ORCH_HEALTH_PORT=9100
USER 10001:10001
EXPOSE 8080 9100
ENTRYPOINT ["orchestrator"]
CMD ["service", "api"]
