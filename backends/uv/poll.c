/* fd readiness on libuv: the executor's epoll set holds libuv's own epoll
 * fd, and the driving thread blocks in the set (executor/reactor.h says
 * why fds are not watched one uv_poll_t each). A turn: one epoll_wait on
 * the set, which completes the fd waits that are ready; then uv_run() only
 * when libuv has something to do - its fd is readable (an async wake, a
 * finished work item), a timer is due, or handles are closing. */
#include "uv_backend.h"

/* After the loop's handles are started: libuv adds an fd to its epoll set
 * at its next poll only, and until then a write of its async eventfd would
 * not make its fd readable - one non-blocking turn registers them. */
int uvb_reactor_start(uvb_runtime *rt) {
  int rc = zx_reactor_add_loop(&rt->ex.reactor, uv_backend_fd(&rt->loop));
  if (rc != 0) return rc == ZYNTAX_ENOMEM ? UV_ENOMEM : UV_EINVAL;
  uv_run(&rt->loop, UV_RUN_NOWAIT);
  return 0;
}

/* How long the set's wait may block: until libuv's next timer (the
 * executor's wheel arms one), not at all while libuv has pending, idle or
 * closing handles. libuv measures from its cached time: refresh it. */
static int wait_ms(uv_loop_t *loop, int block) {
  if (!block) return 0;
  uv_update_time(loop);
  return uv_backend_timeout(loop);
}

void uvb_run_once(uvb_runtime *rt, int block) {
  uv_loop_t *loop = &rt->loop;
  int loop_ready = 0;
  zx_reactor_wait(&rt->ex, wait_ms(loop, block), &loop_ready);
  if (!loop_ready) {
    uv_update_time(loop);
    if (uv_backend_timeout(loop) != 0) return; /* no timer due, nothing pending */
  }
  uv_run(loop, UV_RUN_NOWAIT);
}
