#!/usr/bin/env bash
# Make sure podman has the Debian base image every image here builds FROM, and print
# its name. No registry is needed: mmdebstrap builds it from Debian's packages once
# (~1 min), the tarball is cached under ORCH_CACHE_DIR/images and imported again
# after podman's storage is wiped (a fresh machine with a warm cache).
set -euo pipefail

NAME=localhost/delivery-orchestrator-base:bookworm
PACKAGES=python3,python3-venv,ca-certificates
CACHE=${ORCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/delivery-orchestrator}/images
TARBALL=$CACHE/debian-bookworm-$(echo "$PACKAGES" | sha256sum | cut -c1-12).tar

if ! podman image exists "$NAME"; then
  if [ ! -s "$TARBALL" ]; then
    mkdir -p "$CACHE"
    echo "building the Debian base image with mmdebstrap" >&2
    mmdebstrap --quiet --format=tar --variant=apt --include="$PACKAGES" bookworm "$TARBALL.tmp" >&2
    mv "$TARBALL.tmp" "$TARBALL"
  fi
  podman import --quiet "$TARBALL" "$NAME" >/dev/null
fi
echo "$NAME"
