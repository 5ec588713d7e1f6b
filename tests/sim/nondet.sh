#!/usr/bin/env bash
# zyntax-sim-check reports injected non-determinism (nondet.c reads the
# real clock into its control flow) as DIVERGED with the seed, exit 1; and
# a deterministic program (hour.c: timers, an interval) agrees on every
# seed, exit 0.
set -uo pipefail
check=$1 nondet=$2 deterministic=$3
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$check" --seeds 1..5 -- "$nondet"); rc=$?
echo "$out"
[ "$rc" -eq 1 ] || fail "exit $rc on the non-deterministic program, want 1"
grep -q '^DIVERGED seed=[0-9]*: run 1: exit 0, trace [0-9a-f]*; run 2: exit 0, trace [0-9a-f]*$' <<<"$out" ||
  fail "no DIVERGED line with both traces"

out=$("$check" --seeds 1..3 -- "$deterministic"); rc=$?
echo "$out"
[ "$rc" -eq 0 ] || fail "exit $rc on a deterministic program, want 0"
grep -q 'DIVERGED\|FAIL' <<<"$out" && fail "a deterministic program was flagged"

out=$("$check" --seeds 5..1 -- true 2>&1); rc=$?
[ "$rc" -eq 2 ] && grep -q '^usage:' <<<"$out" || fail "a bad range: exit $rc, want 2 and the usage"
echo "non-determinism detected; determinism confirmed"
