#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for the test suite and prints its URL.
# Usage: .ci/start-postgres.sh [DIR] [PORT]. Idempotent: a running cluster in DIR is reused.
set -euo pipefail
dir=${1:-/tmp/portcullis-pg}
port=${2:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ]; then
  echo "start-postgres: no PostgreSQL binaries under /usr/lib/postgresql; install the 'postgresql' package" >&2
  exit 1
fi
as_pg() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}
if [ ! -f "$dir/PG_VERSION" ]; then
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_pg "'$bin/initdb' -D '$dir' -U postgres --auth=trust -E UTF8 >/dev/null"
fi
if ! as_pg "'$bin/pg_ctl' -D '$dir' status >/dev/null 2>&1"; then
  as_pg "'$bin/pg_ctl' -D '$dir' -l '$dir/server.log' -w -o \"-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=on\" start >/dev/null"
fi
echo "postgres://postgres@127.0.0.1:$port/postgres"
