#!/usr/bin/env bash
# Installs PostgreSQL's server binaries from the distribution when none are under
# /usr/lib/postgresql (Debian and Ubuntu; needs root). Used by .ci/run and `cargo xtask bench`.
set -euo pipefail
if ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "install-postgres: no PostgreSQL binaries under /usr/lib/postgresql, and this is not root on a" \
    "Debian-like system; install the 'postgresql' package yourself" >&2
  exit 1
fi
echo "install-postgres: installing the 'postgresql' package" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql >/dev/null
