/* fd readiness on libuv: one uv_poll_t watches the executor's epoll set
 * (executor/reactor.h says why fds are not watched one uv_poll_t each). */
#include "uv_backend.h"

static void on_reactor(uv_poll_t *handle, int status, int events) {
  (void)status, (void)events; /* an epoll fd has no error to report */
  zx_reactor_dispatch(handle->data);
}

int uvb_reactor_start(uvb_runtime *rt) {
  int rc = uv_poll_init(&rt->loop, &rt->reactor, zx_reactor_fd(&rt->ex.reactor));
  if (rc != 0) return rc;
  rt->reactor.data = &rt->ex;
  return uv_poll_start(&rt->reactor, UV_READABLE, on_reactor);
}
