/* A table indexed by a file descriptor number, grown on demand (the
 * executor's per-fd tables, the loader's fd watches): doubled from 64
 * entries until it holds the index, new entries zeroed. Header-only. */
#ifndef ZYNTAX_ABI_GROWTAB_H
#define ZYNTAX_ABI_GROWTAB_H

#include <stdlib.h>
#include <string.h>

/* `tab` (`*n` entries of `elem` bytes) grown to hold entry `index`: the
 * new table (its size in *n), or NULL with `tab` and *n unchanged. Call
 * it only for an index >= *n. */
static inline void *zx_table_grow(void *tab, size_t *n, size_t elem, size_t index) {
  size_t m = *n ? *n : 64;
  while (m <= index) m *= 2;
  char *grown = realloc(tab, m * elem);
  if (grown == NULL) return NULL;
  memset(grown + *n * elem, 0, (m - *n) * elem);
  *n = m;
  return grown;
}

#endif /* ZYNTAX_ABI_GROWTAB_H */
