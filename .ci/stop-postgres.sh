#!/usr/bin/env bash
# Stops a cluster started by .ci/start-postgres.sh and deletes its directory.
# Usage: .ci/stop-postgres.sh [DIR]
set -euo pipefail
dir=${1:-/tmp/portcullis-pg}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -f "$dir/PG_VERSION" ]; then
  echo "stop-postgres: no cluster in $dir" >&2
  exit 0
fi
as_pg() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}
as_pg "'$bin/pg_ctl' -D '$dir' -m fast stop >/dev/null 2>&1" || true
rm -rf "$dir"
echo "stopped and removed $dir"
