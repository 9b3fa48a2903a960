#!/usr/bin/env bash
# Install the system tools the local stack needs, only when missing: java, mvn, PostgreSQL,
# the chromium the dashboard's browser tests drive (and with `bench`, the HTTP load generator wrk).
# apt-get update runs once, and only if something is missing. Non-interactive (CI, no stdin).
set -euo pipefail

has() { command -v "$1" >/dev/null 2>&1; }
has_pg() { has initdb || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }

missing=()
has java || missing+=(openjdk-17-jre-headless)
has mvn || missing+=(maven)
has_pg || missing+=(postgresql)
has chromium || missing+=(chromium)
[ "${1:-}" = bench ] && ! has wrk && missing+=(wrk)
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
# slim Debian images drop man dirs, and the JRE's postinst fails without this one
"${sudo[@]}" mkdir -p /usr/share/man/man1
"${sudo[@]}" apt-get update -qq </dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
