#!/usr/bin/env bash
# Builds Zyntax and runs every test: the default plugin build (every
# backend, conformance suite once per backend), then a build with the C
# backends linked into libzyntax and no plugin files at all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

# The builds are CMakePresets.json's (warnings are errors there).
cmake --preset static >/dev/null
cmake --build --preset static -j "$jobs"
if ls build-static/plugins/*.so >/dev/null 2>&1; then
  echo "static build produced plugin files" >&2
  exit 1
fi
ctest --preset static -j "$jobs"

cmake --preset default >/dev/null
cmake --build --preset default -j "$jobs"
ctest --preset default -j "$jobs"
