#!/usr/bin/env bash
# Installs what building and testing Zyntax needs on Debian 12 (as root).
# Does nothing when everything is already there.
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config
          libuv1-dev libev-dev libcmocka-dev libgccjit-12-dev
          librust-tokio-dev valgrind strace abigail-tools)
packages+=(libglib2.0-dev) # examples/host_glib.c (required with ZYNTAX_BUILD_EXAMPLES)
packages+=(wrk) # optional: only for zyntax-bench run --load and scripts/soak-http.sh; no test needs it
# Debian's cargo/rustc unless a cargo is already on PATH (e.g. rustup's).
command -v cargo >/dev/null 2>&1 || packages+=(cargo rustc)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
