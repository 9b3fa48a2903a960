#!/usr/bin/env bash
# Build the Kafka and PostgreSQL images the testcontainers fixtures run
# (ORCH_TESTCONTAINERS=1), from deploy/testcontainers/*, on the same Debian base as the
# orchestrator image. Kafka gets the jars the local stack caches (kafka/pom.xml, resolved
# once by mvn). An image is rebuilt only when its inputs change (their digest is a label),
# so a warm build costs a few seconds.
#   scripts/build-test-images.sh      with Docker when an engine answers, else podman
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-.venv/bin/python}
KAFKA_IMAGE=${ORCH_TC_KAFKA_IMAGE:-localhost/delivery-orchestrator-kafka:4.3.1}
POSTGRES_IMAGE=${ORCH_TC_POSTGRES_IMAGE:-localhost/delivery-orchestrator-postgres:15}
LABEL=org.delivery-orchestrator.inputs

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  engine=(docker)
  BASE=${BASE_IMAGE:-debian:bookworm-slim}
  docker image inspect "$BASE" >/dev/null 2>&1 || docker pull -q "$BASE" >/dev/null
  # the Debian base with python3, as scripts/base-image.sh makes it for podman
  BASE_PY=localhost/delivery-orchestrator-base:bookworm
  printf 'FROM %s\nRUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 ca-certificates && rm -rf /var/lib/apt/lists/*\n' "$BASE" \
    | docker build -q -t "$BASE_PY" - >/dev/null
  BASE=$BASE_PY
else
  scripts/ensure-image-tools.sh
  export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}
  engine=(podman)
  BASE=$(scripts/base-image.sh)
fi
base_id=$("${engine[@]}" image inspect --format '{{.Id}}' "$BASE")

# build IMAGE CONTEXT: skip when the image carries the digest of the context and base
build() {
  local image=$1 context=$2 digest
  digest=$( (echo "$base_id"; cd "$context" && find . -type f -print0 | sort -z \
    | xargs -0 sha256sum) | sha256sum | cut -c1-16)
  if [ "$("${engine[@]}" image inspect --format "{{ index .Labels \"$LABEL\" }}" "$image" \
        2>/dev/null)" = "$digest" ]; then
    echo "$image is up to date" >&2
    return
  fi
  echo "building $image" >&2
  "${engine[@]}" build -q --network host --build-arg BASE_IMAGE="$BASE" \
    --label "$LABEL=$digest" -t "$image" -f "$context/Containerfile" "$context" >/dev/null
}

# Kafka's context: its Containerfile and entrypoint, the local stack's config writer,
# and the cached jars (hard links where the cache shares the file system)
ctx=.run/images/kafka
rm -rf "$ctx" && mkdir -p "$ctx/libs"
cp deploy/testcontainers/kafka/Containerfile deploy/testcontainers/kafka/entrypoint.py \
  orchestrator/adapters/stack/kafka_config.py "$ctx/"
cp=$("$PYTHON" -c 'from orchestrator.adapters.config import Settings
from orchestrator.adapters.stack.kafka import classpath
print(classpath(Settings()))')
for jar in ${cp//:/ }; do
  cp -l "$jar" "$ctx/libs/" 2>/dev/null || cp "$jar" "$ctx/libs/"
done
build "$KAFKA_IMAGE" "$ctx"
build "$POSTGRES_IMAGE" deploy/testcontainers/postgres
