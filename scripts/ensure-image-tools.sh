#!/usr/bin/env bash
# Install what `make image` / `make image-test` need when there is no Docker engine:
# podman with the runc runtime (crun fails on hosts with hybrid cgroups) and mmdebstrap
# for the Debian base image. Only what is missing; non-interactive (CI, no stdin).
set -euo pipefail

has() { command -v "$1" >/dev/null 2>&1; }

missing=()
has podman || missing+=(podman)
[ -x /usr/sbin/runc ] || has runc || missing+=(runc)
has mmdebstrap || missing+=(mmdebstrap)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif has sudo && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "missing ${missing[*]}: install them (apt-get install ${missing[*]}) or run as root" >&2
  exit 1
fi
if ! has apt-get; then
  echo "missing ${missing[*]} and no apt-get here: install them with your package manager" >&2
  exit 1
fi
echo "installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq </dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
