/* The libuv backend's runtime: the shared executor plus one uv loop. */
#ifndef ZYNTAX_UV_BACKEND_H
#define ZYNTAX_UV_BACKEND_H

#include <uv.h>

#include "executor.h"

typedef struct uvb_runtime {
  zx_exec ex; /* first: the executor casts the backend runtime to it */
  uv_loop_t loop;
  uv_async_t wakeup; /* cross-thread wakes of the executor */
  uv_timer_t timer;  /* armed for the executor's next timer tick */
} uvb_runtime;

static inline uvb_runtime *uvb_from(zyntax_backend_runtime *rt) {
  return (uvb_runtime *)rt;
}

int uvb_create(const zyntax_backend_host *host,
               const zyntax_runtime_options *opts, zyntax_backend_runtime **out,
               zyntax_error *err);
void uvb_destroy(zyntax_backend_runtime *rt);
int uvb_sleep_until(zyntax_backend_runtime *rt, uint64_t deadline_ns,
                    zyntax_future **out);
int uvb_blocking(zyntax_backend_runtime *rt, zyntax_blocking_fn fn, void *arg,
                 zyntax_future **out);
/* The op table of its blocking jobs (work.c); fd waits are the
 * executor's (reactor.h). */
extern const zyntax_future_ops uvb_work_ops;

/* The runtime's timer (timer.c): 0 or a libuv error. */
int uvb_timer_init(uvb_runtime *rt);
void uvb_timer_arm(zx_exec *ex, uint64_t ms);

/* Puts libuv's epoll fd into the executor's set, where the driving thread
 * waits (poll.c): 0 or a libuv error. */
int uvb_reactor_start(uvb_runtime *rt);
/* One loop turn (the executor's run_once): the set's wait, then libuv's
 * when it has work. */
void uvb_run_once(uvb_runtime *rt, int block);

#endif /* ZYNTAX_UV_BACKEND_H */
