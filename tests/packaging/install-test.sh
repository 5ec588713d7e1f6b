#!/usr/bin/env bash
# Installs the build tree BUILD into a fresh prefix, checks the exported
# symbols, builds tests/consumer against the install with pkg-config and with
# find_package(Zyntax), and runs both on every installed backend. With
# "kit", also a backend written outside the tree (plugin-test.sh).
# Usage: install-test.sh SOURCE_DIR BUILD_DIR [kit]
set -euo pipefail
src=$1
build=$2
prefix=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir="$prefix/lib"
[ -d "$libdir" ] || libdir=$(dirname "$(find "$prefix" -name 'libzyntax.so.*' | head -1)")

# Exported symbols: zyntax_* from libzyntax, zyntax_backend_entry from plugins.
bad=$(nm -D --defined-only "$libdir/libzyntax.so" | awk '{print $3}' | grep -v '^zyntax_' || true)
if [ -n "$bad" ]; then echo "libzyntax exports non-zyntax symbols: $bad" >&2; exit 1; fi
objdump -p "$libdir/libzyntax.so" | grep -q 'SONAME *libzyntax.so.0' || { echo "no SONAME" >&2; exit 1; }
backends=()
for plugin in "$libdir"/zyntax/backends/libzyntax-backend-*.so; do
  [ -e "$plugin" ] || continue
  syms=$(nm -D --defined-only "$plugin" | awk '{print $3}')
  if [ "$syms" != "zyntax_backend_entry" ]; then
    echo "$plugin exports: $syms" >&2; exit 1
  fi
  name=${plugin##*/libzyntax-backend-}
  backends+=("${name%.so}")
done
# Backends linked into libzyntax (release builds) count too.
while read -r name _ rest; do
  case "$rest" in *"(linked into libzyntax)"*) backends+=("$name") ;; esac
done < <("$prefix/bin/zyntax-info" | sed -n '/^backends:/,/^chosen/p' | grep '^  ')
[ ${#backends[@]} -gt 0 ] || { echo "no backend installed" >&2; exit 1; }

# pkg-config
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -std=c11 -Wall -Werror -o "$work/consumer-pc" "$src/tests/consumer/consumer.c" \
  $(pkg-config --cflags --libs zyntax) -Wl,-rpath,"$libdir"
# find_package
cmake -S "$src/tests/consumer" -B "$work/cm" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_RPATH="$libdir" >/dev/null
cmake --build "$work/cm" >/dev/null

for b in "${backends[@]}"; do
  for exe in "$work/consumer-pc" "$work/cm/consumer"; do
    out=$(ZYNTAX_RUNTIME=$b ZYNTAX_RUNTIME_PATH= "$exe")
    echo "$out"
    [ "$out" = "consumer ran on $b: ok" ] || exit 1
  done
done
"$prefix/bin/zyntax-info" >/dev/null
echo "installed tree works for: ${backends[*]}"
if [ "${3:-}" = kit ]; then
  source "$src/tests/packaging/plugin-test.sh"
fi
