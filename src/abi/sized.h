/* The ABI rule for size-prefixed structs, as code: one helper that every
 * side of the ABI (libzyntax's entry points, the sync primitives, the
 * backends' stats) uses, so that "a minor version may append fields"
 * holds the same way everywhere. Header-only; not installed. */
#ifndef ZYNTAX_ABI_SIZED_H
#define ZYNTAX_ABI_SIZED_H

#include <stddef.h>
#include <string.h>

#include "zyntax/runtime.h"

/* The size of a struct's 1.0 layout: everything up to and including
 * `last_field`, the last field of version 1.0. Fields appended later lie
 * past it, so a 1.0 caller's struct is exactly this long. */
#define ZX_SIZE_THROUGH(type, last_field) \
  (offsetof(type, last_field) + sizeof(((type *)0)->last_field))

/* Copies a size-prefixed struct between two versions of its layout. `dst`
 * and `src` both start with `size_t size`, the size of the layout their
 * owner was compiled with. Both must be at least `min_size` (the 1.0
 * layout); the bytes after the size field, up to the smaller of the two
 * sizes, are copied, so an older caller's struct (shorter) and a newer
 * one's (longer) both work: fields one side does not know keep dst's
 * values. dst->size is left as it was. Returns 0, or -1 (nothing copied)
 * when either size is below `min_size`. */
/* The 1.0 layouts of the public size-prefixed structs (docs/abi.md lists
 * them). A struct that grows keeps its 1.0 size here forever. */
#define ZX_RUNTIME_OPTIONS_SIZE_1_0 ZX_SIZE_THROUGH(zyntax_runtime_options, flags)
#define ZX_CHANNEL_OPTIONS_SIZE_1_0 \
  ZX_SIZE_THROUGH(zyntax_channel_options, item_drop_arg)
#define ZX_STATS_SIZE_1_0 ZX_SIZE_THROUGH(zyntax_stats, blocking_jobs)
#define ZX_BACKEND_INFO_SIZE_1_0 ZX_SIZE_THROUGH(zyntax_backend_info, message)

static inline int zx_sized_copy(void *dst, const void *src, size_t min_size) {
  size_t dst_size, src_size;
  memcpy(&dst_size, dst, sizeof dst_size);
  memcpy(&src_size, src, sizeof src_size);
  if (dst_size < min_size || src_size < min_size) return -1;
  size_t n = dst_size < src_size ? dst_size : src_size;
  memcpy((char *)dst + sizeof(size_t), (const char *)src + sizeof(size_t),
         n - sizeof(size_t));
  return 0;
}

#endif /* ZYNTAX_ABI_SIZED_H */
