#!/usr/bin/env bash
# Re-downloads the vendored GraphiQL assets with `npm pack` and checks them against SHA256SUMS.
#
#   bash fetch.sh           verify: the committed files equal the published ones (changes nothing)
#   bash fetch.sh --write   copy the published files over the committed ones, then verify
#
# To move to other versions: edit the versions below and the file names in SHA256SUMS,
# src/http.rs and README.md, run with --write, then `sha256sum *.js *.css > SHA256SUMS`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

react=18.3.1
graphiql=3.9.0

cd "$work"
npm pack --silent "react@$react" "react-dom@$react" "graphiql@$graphiql" >/dev/null
for tarball in "react-$react" "react-dom-$react" "graphiql-$graphiql"; do
  package="${tarball%-*}"
  mkdir "$package"
  tar -xzf "$tarball.tgz" -C "$package"
done

# published path → vendored name
declare -A files=(
  ["react/package/umd/react.production.min.js"]="react-$react.production.min.js"
  ["react-dom/package/umd/react-dom.production.min.js"]="react-dom-$react.production.min.js"
  ["graphiql/package/graphiql.min.js"]="graphiql-$graphiql.min.js"
  ["graphiql/package/graphiql.min.css"]="graphiql-$graphiql.min.css"
  ["react/package/LICENSE"]="LICENSE-react"
  ["react-dom/package/LICENSE"]="LICENSE-react-dom"
  ["graphiql/package/LICENSE"]="LICENSE-graphiql"
)
status=0
for published in "${!files[@]}"; do
  vendored="$here/${files[$published]}"
  if [[ "${1:-}" == "--write" ]]; then
    cp "$published" "$vendored"
  elif ! cmp -s "$published" "$vendored"; then
    echo "differs from the published package: ${files[$published]}" >&2
    status=1
  fi
done
# The published files themselves must still have the recorded digests.
for published in "${!files[@]}"; do cp "$published" "$work/${files[$published]}"; done
(cd "$work" && sha256sum --check --quiet "$here/SHA256SUMS") || status=1
(cd "$here" && sha256sum --check "$here/SHA256SUMS") || status=1
exit "$status"
