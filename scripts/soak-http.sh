#!/usr/bin/env bash
# Soak test of examples/http_serve under wrk, once per backend: the server
# runs under load for SOAK_SECONDS; its resident memory and open fds are
# sampled after the warm-up and again just before the load ends (still under
# load, so both samples hold the same connections). Fails if wrk saw any
# socket error or non-2xx response, if RSS or the fd count grew more than
# 5%, or if the server does not exit 0 after SIGTERM.
#
# Usage: scripts/soak-http.sh [BUILD_DIR]        (default: build)
# Environment: SOAK_SECONDS (300), SOAK_WARMUP (10), SOAK_BACKENDS
# ("uv ev tokio"), SOAK_CONNECTIONS (100), SOAK_THREADS (1).
# Needs wrk (Debian package wrk; scripts/install-deps.sh installs it).
set -euo pipefail

build=${1:-build}
seconds=${SOAK_SECONDS:-300}
warmup=${SOAK_WARMUP:-10}
backends=${SOAK_BACKENDS:-uv ev tokio}
connections=${SOAK_CONNECTIONS:-100}
threads=${SOAK_THREADS:-1}
server=$build/examples/http_serve
command -v wrk >/dev/null || { echo "soak-http: wrk is not installed" >&2; exit 2; }
[ -x "$server" ] || { echo "soak-http: $server not built" >&2; exit 2; }
((seconds > warmup + 5)) || { echo "soak-http: SOAK_SECONDS must exceed SOAK_WARMUP + 5" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }
# 1 when $2 grew more than 5% over $1.
grew() { awk -v a="$1" -v b="$2" 'BEGIN { print (b > a * 1.05) ? 1 : 0 }'; }

# Prints one result row; returns nonzero on a failure.
soak() {
  local backend=$1 out=$work/$1.out port="" pid wrk_pid status=0 failed=""
  ZYNTAX_RUNTIME=$backend "$server" 0 >"$out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's/^listening on \([0-9]*\)$/\1/p' "$out")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { kill -KILL "$pid"; echo "| $backend | server did not start |"; return 1; }
  wrk -t"$threads" -c"$connections" -d"${seconds}s" "http://127.0.0.1:$port/" >"$work/$backend.wrk" &
  wrk_pid=$!
  sleep "$warmup"
  local rss0 fd0 rss1 fd1
  rss0=$(rss_kb "$pid") fd0=$(fds "$pid")
  sleep $((seconds - warmup - 2))
  rss1=$(rss_kb "$pid") fd1=$(fds "$pid")
  wait "$wrk_pid"
  kill -TERM "$pid"
  wait "$pid" || status=$?
  local errors non2xx rps
  errors=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$work/$backend.wrk")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/$backend.wrk")
  rps=$(awk '/Requests\/sec:/ {print $2}' "$work/$backend.wrk")
  errors=${errors:-0} non2xx=${non2xx:-0}
  ((errors == 0)) || failed+=" socket-errors"
  ((non2xx == 0)) || failed+=" non-2xx"
  [ "$(grew "$rss0" "$rss1")" = 0 ] || failed+=" rss-grew"
  [ "$(grew "$fd0" "$fd1")" = 0 ] || failed+=" fds-grew"
  ((status == 0)) || failed+=" exit-$status"
  echo "| $backend | ${rps:-?} | $errors | $non2xx | $rss0 -> $rss1 | $fd0 -> $fd1 | $status | ${failed:-ok} |"
  [ -z "$failed" ]
}

echo "soak: $seconds s per backend ($warmup s warm-up), wrk -t$threads -c$connections"
echo
echo "| backend | requests/s | socket errors | non-2xx | RSS KiB warm -> end | open fds warm -> end | exit | result |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
rc=0
for b in $backends; do soak "$b" || rc=1; done
exit $rc
