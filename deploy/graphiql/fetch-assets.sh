#!/usr/bin/env bash
# Fetch the GraphiQL page's scripts and stylesheets from the npm registry into DEST, laid
# out as unpkg serves them (DEST/<package>@<version>/<file>), for GRAPHIQL_ASSETS_DIR.
# The versions are exactly those of strawberry's graphiql.html (its SRI hashes still apply);
# tests/graph/graphiql/test_assets.py fails when a strawberry upgrade changes them.
# Usage: deploy/graphiql/fetch-assets.sh DEST      (needs npm and tar)
set -euo pipefail
dest=${1:?usage: fetch-assets.sh DEST}
PACKAGES=(
  react@18.2.0
  react-dom@18.2.0
  js-cookie@3.0.5
  graphiql@3.8.3
  @graphiql/plugin-explorer@1.0.2
)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$dest"
for spec in "${PACKAGES[@]}"; do
  tarball=$(npm pack --silent --pack-destination "$work" "$spec" | tail -n 1)
  mkdir -p "$dest/$spec"
  tar -xzf "$work/$tarball" -C "$dest/$spec" --strip-components=1 --no-same-owner
done
