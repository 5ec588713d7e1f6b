/* The libev backend's runtime: the shared executor, one libev loop of its
 * own (never the default loop) and the shared blocking pool. */
#ifndef ZYNTAX_EV_BACKEND_H
#define ZYNTAX_EV_BACKEND_H

#include <ev.h>

#include "executor.h"
#include "pool.h"

typedef struct evb_runtime {
  zx_exec ex; /* first: the executor casts the backend runtime to it */
  struct ev_loop *loop;
  ev_async wakeup; /* cross-thread wakes of the executor */
  ev_timer timer;  /* armed for the executor's next timer tick */
  zx_pool pool;    /* libev has no thread pool */
  ev_io reactor;   /* the executor's fd waits (executor/reactor.h) */
  unsigned look_in, look_backoff; /* looks at the set first (runtime.c) */
} evb_runtime;

static inline evb_runtime *evb_from(zyntax_backend_runtime *rt) {
  return (evb_runtime *)rt;
}

int evb_create(const zyntax_backend_host *host,
               const zyntax_runtime_options *opts, zyntax_backend_runtime **out,
               zyntax_error *err);
void evb_destroy(zyntax_backend_runtime *rt);
int evb_sleep_until(zyntax_backend_runtime *rt, uint64_t deadline_ns,
                    zyntax_future **out);
/* The runtime's timer (timer.c). */
void evb_timer_init(evb_runtime *rt);
void evb_timer_arm(zx_exec *ex, uint64_t ms);

int evb_blocking(zyntax_backend_runtime *rt, zyntax_blocking_fn fn, void *arg,
                 zyntax_future **out);

#endif /* ZYNTAX_EV_BACKEND_H */
