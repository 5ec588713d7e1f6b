/* fork(): a child inherits a copy of every runtime but none of its threads,
 * and shares the parent's epoll/eventfd descriptors, so driving, spawning
 * onto or destroying an inherited runtime would corrupt the parent's. Each
 * such call fails with ZYNTAX_EFORKED instead; the child creates its own
 * runtime. A pthread_atfork() handler counts forks, so the check is one
 * load on every path, no syscall. */
#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"

static atomic_uint generation;
static pthread_once_t watch_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void) { atomic_fetch_add(&generation, 1); }

static void install(void) { pthread_atfork(NULL, NULL, on_fork_child); }

void zx_fork_watch(void) { pthread_once(&watch_once, install); }

unsigned zx_fork_generation(void) {
  return atomic_load_explicit(&generation, memory_order_relaxed);
}

int zx_check_forked(const zyntax_runtime *rt, const char *func) {
  if (rt->fork_generation == zx_fork_generation()) return 0;
  return zx_fail(NULL, ZYNTAX_EFORKED,
                 "%s: this runtime was created before fork(); create a new one "
                 "in the child", func);
}
