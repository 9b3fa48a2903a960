# syntax=docker/dockerfile:1
# The orchestrator image: one image, every service (`orchestrator service NAME`).
#
#   docker build -t ghcr.io/delivery-orchestrator/orchestrator:0.1.0 .
#
# Stage 1 builds a wheel of this project and installs it with its pinned dependencies
# (constraints.txt) into a virtualenv. Stage 2 is the slim runtime: the venv only, no
# compilers, no pip cache, a non-root user, and nothing written to the root filesystem
# at run time (Kubernetes runs it with readOnlyRootFilesystem; HOME and caches point at
# /tmp, which the manifests mount as an emptyDir).

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# dependency layer first: only re-run when the pins change
COPY constraints.txt pyproject.toml ./
COPY orchestrator ./orchestrator
COPY services ./services
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && pip install --constraint constraints.txt /wheels/*.whl \
 && pip check

FROM ${PYTHON_IMAGE} AS runtime
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
