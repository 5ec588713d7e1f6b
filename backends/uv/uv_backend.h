/* The libuv backend's runtime: the shared executor plus one uv loop. */
#ifndef ZYNTAX_UV_BACKEND_H
#define ZYNTAX_UV_BACKEND_H

#include <uv.h>

#include "executor.h"
#include "fdtab.h"

typedef struct uvb_watch uvb_watch;

typedef struct uvb_runtime {
  zx_exec ex; /* first: the executor casts the backend runtime to it */
  uv_loop_t loop;
  uv_async_t wakeup; /* cross-thread wakes of the executor */
  uv_timer_t timer;  /* armed for the executor's next timer tick */
  zx_fdtab fds;      /* fd -> the one uvb_watch (uv_poll_t) watching it */
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
int uvb_fd_wait(zyntax_backend_runtime *rt, int fd, unsigned events,
                zyntax_future **out);
int uvb_blocking(zyntax_backend_runtime *rt, zyntax_blocking_fn fn, void *arg,
                 zyntax_future **out);
/* The op tables of its fd waits (poll.c) and blocking jobs (work.c). */
extern const zyntax_future_ops uvb_fdwait_ops, uvb_work_ops;

/* The runtime's timer (timer.c): 0 or a libuv error. */
int uvb_timer_init(uvb_runtime *rt);
void uvb_timer_arm(zx_exec *ex, uint64_t ms);

/* Closes every fd watch (destroy, before the loop's last run); waits still
 * pending are detached and complete with ZYNTAX_ECLOSED. */
void uvb_watches_close(uvb_runtime *rt);

#endif /* ZYNTAX_UV_BACKEND_H */
