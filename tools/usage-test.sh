#!/usr/bin/env bash
# zyntax-info's command line: --help / -h print the usage on stdout and exit
# 0; an unknown option or a second argument prints it on stderr and exits 2.
set -uo pipefail
info=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

for opt in --help -h; do
  out=$("$info" "$opt" 2>/dev/null); rc=$?
  [ "$rc" -eq 0 ] || fail "$opt: exit $rc, want 0"
  grep -q '^usage: zyntax-info' <<<"$out" || fail "$opt: no usage on stdout"
  grep -q 'backends:' <<<"$out" && fail "$opt: looked up backends"
done

for args in "--bogus" "-x" "uv ev"; do
  # shellcheck disable=SC2086 # two words on purpose
  out=$("$info" $args 2>&1 >/dev/null); rc=$?
  [ "$rc" -eq 2 ] || fail "'$args': exit $rc, want 2"
  grep -q '^usage: zyntax-info' <<<"$out" || fail "'$args': no usage on stderr"
done
echo "zyntax-info usage: ok"
