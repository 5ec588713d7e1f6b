#!/usr/bin/env bash
# The kit's own test: it must fail a backend that breaks the contract, name
# the group that broke, and pass the others; and fail, saying why, a
# backend the loader refuses.
# Usage: selftest.sh KIT FIXTURE_DIR (tests/loader's fixture plugins)
set -uo pipefail
kit=$1
fixtures=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT

ZYNTAX_RUNTIME="$fixtures/libbroken_blocking.so" "$kit" basic blocking timers >"$out" 2>/dev/null
rc=$?
cat "$out"
[ $rc -eq 1 ] || { echo "broken backend: exit $rc, want 1" >&2; exit 1; }
grep -q '^| blocking | conformance | .* | FAIL |' "$out" || { echo "blocking not failed" >&2; exit 1; }
grep -q '^| basic | conformance | .* | pass |' "$out" || { echo "basic not passed" >&2; exit 1; }
grep -q '^\*\*FAIL\*\*: 2/3 groups passed' "$out" || { echo "wrong verdict" >&2; exit 1; }

ZYNTAX_RUNTIME="$fixtures/libfuture_ops_no_drop.so" "$kit" basic >"$out" 2>/dev/null
rc=$?
cat "$out"
[ $rc -ne 0 ] || { echo "refused backend: exit 0" >&2; exit 1; }
ZYNTAX_RUNTIME="$fixtures/libfuture_ops_no_drop.so" "$kit" basic io >"$out" 2>/dev/null
grep -q 'backend: not usable: .*future_ops\[0\]' "$out" || { echo "no reason given" >&2; exit 1; }
grep -q '^\*\*FAIL\*\*: 0/2' "$out" || { echo "wrong verdict" >&2; exit 1; }
echo "kit self-test passed"
