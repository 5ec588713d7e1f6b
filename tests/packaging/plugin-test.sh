# Sourced by install-test.sh once the tree is installed in $prefix (libdir
# $libdir, scratch $work): a backend written outside the tree, from the
# installed tree only. Builds examples/backend-template (a poll(2) backend
# over the installed C executor) with find_package(Zyntax) and with
# pkg-config, checks that it exports only zyntax_backend_entry, and
# certifies it with the installed conformance kit: every group must pass.
kit="$prefix/bin/zyntax-conformance"
for f in "$kit" "$prefix/include/zyntax/backend.h" "$prefix/include/zyntax/executor.h" \
         "$libdir/libzyntax-executor.a" "$libdir/pkgconfig/zyntax-executor.pc"; do
  [ -e "$f" ] || { echo "not installed: ${f#"$prefix"/}" >&2; exit 1; }
done
# Only the template's own folder is copied: nothing else of the tree.
cp -r "$src/examples/backend-template" "$work/template"

# find_package(Zyntax): Zyntax::executor
cmake -S "$work/template" -B "$work/pcm" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/pcm" >/dev/null
# pkg-config zyntax-executor
PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --exists zyntax-executor
cc -std=c11 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden \
  -o "$work/libzyntax-backend-poll.so" "$work/template/poll_backend.c" \
  $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs zyntax-executor) \
  -Wl,--no-undefined

for plugin in "$work/pcm/libzyntax-backend-poll.so" "$work/libzyntax-backend-poll.so"; do
  syms=$(nm -D --defined-only "$plugin" | awk '{print $3}')
  [ "$syms" = "zyntax_backend_entry" ] || { echo "$plugin exports: $syms" >&2; exit 1; }
  if nm -D "$plugin" | grep -q ' U zyntax_runtime'; then
    echo "$plugin links libzyntax's API" >&2; exit 1
  fi
done

# zyntax-info sees it, by path and on the search path by name.
plugin="$work/pcm/libzyntax-backend-poll.so"
"$prefix/bin/zyntax-info" "$plugin" | grep -q "poll" || { echo "zyntax-info: no poll" >&2; exit 1; }
ZYNTAX_RUNTIME_PATH="$work/pcm" "$prefix/bin/zyntax-info" poll >/dev/null

# Certification by the installed kit, both builds of the plugin.
for p in "$plugin" "$work/libzyntax-backend-poll.so"; do
  set +e
  ZYNTAX_RUNTIME=$p "$kit" >"$work/summary.md" 2>"$work/kit.log"
  rc=$?
  set -e
  cat "$work/summary.md"
  if [ $rc -ne 0 ] || ! grep -q '^\*\*PASS\*\*' "$work/summary.md"; then
    cat "$work/kit.log" >&2
    echo "the installed kit did not certify $p (exit $rc)" >&2
    exit 1
  fi
done
# By name from the search path, as a user would pick it.
ZYNTAX_RUNTIME_PATH="$work/pcm" ZYNTAX_RUNTIME=poll "$kit" basic >/dev/null 2>&1
echo "out-of-tree plugin built from the installed tree and certified"
