#!/usr/bin/env bash
# cargo deny (deny.toml): licences, banned and duplicate crate versions, and sources must pass;
# security advisories are checked whenever the RustSec advisory database can be fetched.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.20.2
if [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $version" ]; then
  echo "installing cargo-deny $version"
  cargo install cargo-deny --locked --version "$version"
fi

cargo deny --locked check bans licenses sources

# The advisory database lives on github.com, which some build networks cannot reach: say so
# loudly rather than fail every build there, and fail on any advisory when it can be read.
if output=$(cargo deny --locked check advisories 2>&1); then
  printf '%s\n' "$output" | tail -n 2
elif grep -q "failed to fetch advisory database" <<<"$output"; then
  printf '%s\n' "$output" | grep -m1 "failed to fetch" >&2
  echo "WARNING: the RustSec advisory database cannot be fetched from this network: advisories NOT checked" >&2
else
  printf '%s\n' "$output"
  exit 1
fi
