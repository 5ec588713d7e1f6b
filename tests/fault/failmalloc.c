/* malloc, calloc, realloc, aligned_alloc, posix_memalign, memalign, free:
 * forwarded to glibc's __libc_* functions; zyntax callers are counted,
 * failed on demand and tracked in a pointer table. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "failmalloc.h"

void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);

#define TABLE_SIZE (1u << 20) /* open addressing; far above any test's need */

static atomic_long count, fail_at, failed;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *table[TABLE_SIZE];
static size_t live;
static _Thread_local int inside; /* dladdr may allocate */

void failmalloc_fail_nth(long n) {
  if (n != 0) atomic_store(&failed, 0); /* disarming keeps the verdict */
  atomic_store(&fail_at, n ? atomic_load(&count) + n : 0);
}
long failmalloc_count(void) { return atomic_load(&count); }
void failmalloc_reset_count(void) { atomic_store(&count, 0); }
int failmalloc_failed(void) { return (int)atomic_load(&failed); }

size_t failmalloc_live(void) {
  pthread_mutex_lock(&lock);
  size_t n = live;
  pthread_mutex_unlock(&lock);
  return n;
}

static int zyntax_caller(void *ret) {
  if (inside) return 0;
  inside = 1;
  Dl_info info;
  int ours = dladdr(ret, &info) && info.dli_fname &&
             (strstr(info.dli_fname, "libzyntax") != NULL);
  inside = 0;
  return ours;
}

static size_t slot(void *p) { return ((uintptr_t)p >> 4) * 2654435761u % TABLE_SIZE; }

static void track(void *p) {
  pthread_mutex_lock(&lock);
  size_t i = slot(p);
  while (table[i] != NULL && table[i] != (void *)1) i = (i + 1) % TABLE_SIZE;
  table[i] = p;
  live++;
  pthread_mutex_unlock(&lock);
}

static void untrack(void *p) {
  pthread_mutex_lock(&lock);
  for (size_t i = slot(p); table[i] != NULL; i = (i + 1) % TABLE_SIZE)
    if (table[i] == p) {
      table[i] = (void *)1; /* tombstone */
      live--;
      break;
    }
  pthread_mutex_unlock(&lock);
}

/* Nonzero when this zyntax allocation must fail. */
static int inject(void) {
  long n = atomic_fetch_add(&count, 1) + 1;
  long at = atomic_load(&fail_at);
  if (at == 0 || n != at) return 0;
  atomic_store(&failed, 1);
  return 1;
}

static void *account(void *ret, void *p) {
  (void)ret;
  if (p != NULL) track(p);
  return p;
}

#define ZYNTAX_ALLOC(expr)                                      \
  do {                                                          \
    void *ret_ = __builtin_return_address(0);                   \
    if (!zyntax_caller(ret_)) return expr;                      \
    if (inject()) {                                             \
      errno = ENOMEM;                                           \
      return NULL;                                              \
    }                                                           \
    return account(ret_, expr);                                 \
  } while (0)

/* Default visibility: the project builds with hidden symbols, and only an
 * exported definition interposes libc's for every library in the process. */
#define EXPORT __attribute__((visibility("default")))

EXPORT void *malloc(size_t n) { ZYNTAX_ALLOC(__libc_malloc(n)); }
EXPORT void *calloc(size_t a, size_t b) { ZYNTAX_ALLOC(__libc_calloc(a, b)); }
EXPORT void *aligned_alloc(size_t al, size_t n) { ZYNTAX_ALLOC(__libc_memalign(al, n)); }
EXPORT void *memalign(size_t al, size_t n) { ZYNTAX_ALLOC(__libc_memalign(al, n)); }

EXPORT void *realloc(void *p, size_t n) {
  void *ret = __builtin_return_address(0);
  if (!zyntax_caller(ret)) return __libc_realloc(p, n);
  if (inject()) {
    errno = ENOMEM;
    return NULL;
  }
  void *q = __libc_realloc(p, n);
  if (q != NULL) {
    if (p != NULL) untrack(p);
    track(q);
  }
  return q;
}

EXPORT int posix_memalign(void **out, size_t al, size_t n) {
  void *ret = __builtin_return_address(0);
  if (zyntax_caller(ret) && inject()) return ENOMEM;
  void *p = __libc_memalign(al, n);
  if (p == NULL) return ENOMEM;
  if (zyntax_caller(ret)) track(p);
  *out = p;
  return 0;
}

EXPORT void free(void *p) {
  if (p == NULL) return;
  if (live) untrack(p); /* cheap enough for tests; zyntax frees are tracked */
  __libc_free(p);
}
