#!/usr/bin/env bash
# Builds Zyntax and runs every test: the default plugin build (every
# backend, conformance suite once per backend), then a build with the C
# backends linked into libzyntax and no plugin files at all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

cmake -S . -B build-static -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DZYNTAX_BACKENDS= -DZYNTAX_STATIC_BACKENDS="uv;ev" -DZYNTAX_SANITIZE= \
  -DZYNTAX_BUILD_TESTS=ON -DZYNTAX_BUILD_BENCH=OFF -DZYNTAX_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-static -j "$jobs"
if ls build-static/plugins/*.so >/dev/null 2>&1; then
  echo "static build produced plugin files" >&2
  exit 1
fi
ctest --test-dir build-static -j "$jobs" --output-on-failure -LE "fuzz"

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZYNTAX_SANITIZE= \
  -DZYNTAX_BACKENDS="uv;ev;tokio" -DZYNTAX_STATIC_BACKENDS= \
  -DZYNTAX_BUILD_TESTS=ON -DZYNTAX_BUILD_EXAMPLES=ON -DZYNTAX_BUILD_BENCH=ON >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build -j "$jobs" --output-on-failure
