#!/usr/bin/env bash
# With ZYNTAX_SIM_SEED unset, sim picks a seed, prints it on stderr, and
# that seed replays the run: the same trace hash.
set -uo pipefail
program=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

err=$(env -u ZYNTAX_SIM_SEED ZYNTAX_RUNTIME=sim ZYNTAX_SIM_TRACE=1 "$program" 2>&1 >/dev/null)
echo "$err"
seed=$(sed -n 's/^zyntax-sim: seed=\([0-9]*\) (chosen at random.*/\1/p' <<<"$err")
[ -n "$seed" ] || fail "no 'seed=N (chosen at random' line"
trace=$(sed -n 's/^zyntax-sim: seed=[0-9]* trace=\([0-9a-f]*\) .*/\1/p' <<<"$err")
[ -n "$trace" ] || fail "no trace line"

again=$(ZYNTAX_RUNTIME=sim ZYNTAX_SIM_SEED=$seed ZYNTAX_SIM_TRACE=1 "$program" 2>&1 >/dev/null)
grep -q "seed=$seed trace=$trace " <<<"$again" || fail "seed $seed did not replay trace $trace: $again"
grep -q 'chosen at random' <<<"$again" && fail "a set seed was reported as random"
echo "random seed $seed printed and replayed (trace $trace)"
