#!/usr/bin/env bash
# Compares libzyntax's public ABI with the checked-in baseline abi/libzyntax.abi.
#   scripts/abi-check.sh check   fail on an incompatible change (unless the
#                                SONAME's major moved); additions are fine
#   scripts/abi-check.sh update  rewrite the baseline from this build
# Needs abidw/abidiff (Debian: abigail-tools) and a build with debug info.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-check}
build=build-abi
baseline=abi/libzyntax.abi

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZYNTAX_BACKENDS= \
  -DZYNTAX_BUILD_TESTS=OFF -DZYNTAX_BUILD_EXAMPLES=OFF -DZYNTAX_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" --target zyntax >/dev/null
lib=$(readlink -f "$build/src/libzyntax.so")
supp=abi/suppressions.abignore

if [ "$mode" = update ]; then
  # Location-free and path-free: the baseline must not depend on where the
  # tree was built.
  abidw --no-corpus-path --no-show-locs "$lib" |
    sed -e "s|$PWD/$build|build|g" -e "s|$PWD|.|g" > "$baseline"
  echo "wrote $baseline"
  exit 0
fi

set +e
report=$(abidiff --suppressions "$supp" "$baseline" "$lib")
rc=$?
set -e
echo "$report"
if (( rc & 3 )); then
  echo "abidiff failed to run (status $rc)" >&2
  exit 1
fi
# "Functions changes summary: R Removed, C Changed (...), A Added functions"
changed=$(echo "$report" | sed -n 's/.*summary: \([0-9]*\) Removed, \([0-9]*\) Changed.*/\1 \2/p' |
          awk '{s += $1 + $2} END {print s + 0}')
old_soname=$(sed -n "s/.*soname='\([^']*\)'.*/\1/p" "$baseline" | head -1)
new_soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
if (( changed > 0 )) && [ "$old_soname" = "$new_soname" ]; then
  echo "the public ABI changed ($changed functions/variables removed or changed) while the" >&2
  echo "SONAME stays $new_soname: undo it, or bump ZYNTAX_VERSION_MAJOR (docs/abi.md)" >&2
  exit 1
fi
if (( rc & 4 )); then
  echo "ABI grew compatibly; refresh the baseline: scripts/abi-check.sh update"
fi
echo "ABI check passed ($new_soname)"
