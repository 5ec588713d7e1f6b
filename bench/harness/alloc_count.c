/* LD_PRELOAD allocation counter for `zyntax-bench --allocs`: counts every
 * malloc, calloc, realloc and aligned allocation of a workload child (C or
 * Rust: Rust's allocator calls these too) and writes the total to the file
 * named by $ZYNTAX_BENCH_ALLOC_OUT at exit. The counter is this tool's whole
 * purpose, so it is a process-wide global by design. */
#define _GNU_SOURCE 1 /* memalign, posix_memalign prototypes */
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);

/* The project builds with -fvisibility=hidden; these must interpose. */
#define INTERPOSE __attribute__((visibility("default")))

static atomic_ullong allocations;

static void counted(void) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); }

INTERPOSE void *malloc(size_t size) {
  counted();
  return __libc_malloc(size);
}

INTERPOSE void *calloc(size_t n, size_t size) {
  counted();
  return __libc_calloc(n, size);
}

INTERPOSE void *realloc(void *p, size_t size) {
  counted();
  return __libc_realloc(p, size);
}

INTERPOSE void *memalign(size_t align, size_t size) {
  counted();
  return __libc_memalign(align, size);
}

INTERPOSE void *aligned_alloc(size_t align, size_t size) {
  counted();
  return __libc_memalign(align, size);
}

INTERPOSE int posix_memalign(void **out, size_t align, size_t size) {
  if (align < sizeof(void *) || (align & (align - 1)) != 0) return EINVAL;
  counted();
  void *p = __libc_memalign(align, size);
  if (p == NULL) return ENOMEM;
  *out = p;
  return 0;
}

__attribute__((destructor)) static void report(void) {
  const char *path = getenv("ZYNTAX_BENCH_ALLOC_OUT");
  FILE *f = path ? fopen(path, "w") : NULL;
  if (f == NULL) return;
  fprintf(f, "%llu\n", (unsigned long long)atomic_load(&allocations));
  fclose(f);
}
