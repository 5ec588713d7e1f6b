#!/usr/bin/env bash
# Builds Zyntax and runs the fetch_data demo on the default backend
# (or the one ZYNTAX_RUNTIME names).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target fetch_data
exec build/examples/fetch_data
