/* Driving from a host's event loop: zyntax_runtime_poll_fd, _next_deadline
 * and _run_nowait. The entries are optional: a backend that leaves them
 * NULL (Tokio) is unsupported. */
#include <stddef.h>

#include "internal.h"

static int unsupported(const zyntax_runtime *rt, const char *func) {
  return zx_fail(NULL, ZYNTAX_EUNSUPPORTED,
                 "%s: backend '%s' cannot be driven from a host loop (%s)",
                 func, rt->backend->name,
                 "it has no host-loop entries: it drives itself on its own "
                 "threads, or does not offer it");
}

/* The checks every call makes, in order, then the driving mark. */
static int begin(zyntax_runtime *rt, int supported, const char *func) {
  if (rt == NULL) return zx_fail_code(func, ZYNTAX_EINVAL);
  if (!supported) return unsupported(rt, func);
  return zx_drive_begin(rt, func);
}

int zyntax_runtime_poll_fd(zyntax_runtime *rt) {
  int rc = begin(rt, rt != NULL && ZYNTAX_BACKEND_HAS(rt->backend, poll_fd), __func__);
  if (rc != 0) return rc;
  int fd = -1;
  rc = rt->backend->poll_fd(rt->impl, &fd);
  zx_drive_end(rt);
  return rc != 0 ? zx_fail_code(__func__, rc) : fd;
}

int zyntax_runtime_next_deadline(zyntax_runtime *rt, uint64_t *deadline_ns) {
  if (deadline_ns == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  *deadline_ns = ZYNTAX_DEADLINE_NONE;
  int rc = begin(rt, rt != NULL && ZYNTAX_BACKEND_HAS(rt->backend, next_deadline), __func__);
  if (rc != 0) return rc;
  rc = rt->backend->next_deadline(rt->impl, deadline_ns);
  zx_drive_end(rt);
  return rc < 0 ? zx_fail_code(__func__, rc) : rc;
}

int zyntax_runtime_run_nowait(zyntax_runtime *rt, int *more) {
  if (more == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  *more = 0;
  int rc = begin(rt, rt != NULL && ZYNTAX_BACKEND_HAS(rt->backend, run_nowait), __func__);
  if (rc != 0) return rc;
  rc = rt->backend->run_nowait(rt->impl, more);
  zx_drive_end(rt);
  return rc != 0 ? zx_fail_code(__func__, rc) : 0;
}
