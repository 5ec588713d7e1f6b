#!/usr/bin/env bash
# Builds Zyntax and runs the fetch_data demo on the default backend
# (or the one ZYNTAX_RUNTIME names). Building fetch_data builds the default
# backend's plugin too; a backend picked by name is built here as well.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=(fetch_data)
plugin="zyntax-backend-${ZYNTAX_RUNTIME:-}"
case "${ZYNTAX_RUNTIME:-}" in
  "" | /*) ;; # the default, or a plugin file given by path
  *) if ninja -C build -t query "$plugin" >/dev/null 2>&1; then targets+=("$plugin"); fi ;;
esac
cmake --build build --target "${targets[@]}"
exec build/examples/fetch_data
