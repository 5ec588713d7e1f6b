/* Public leaf-future functions (the backend's sleep, fd wait and blocking
 * work), the clock, generic future access and the no-op waker. The
 * backend-independent futures live in src/future. */
#include <stddef.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

typedef uint64_t (*clock_fn)(void);

/* A backend's own clock, once a runtime of it was created (a simulation's
 * virtual clock); NULL: CLOCK_MONOTONIC. Set once, never cleared: the
 * clock must stay monotonic for the rest of the process. */
static _Atomic clock_fn process_clock;

static uint64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void zx_clock_install(const zyntax_backend *be) {
  if (ZYNTAX_BACKEND_HAS(be, clock))
    atomic_store_explicit(&process_clock, be->clock, memory_order_release);
}

uint64_t zyntax_now(void) {
  clock_fn c = atomic_load_explicit(&process_clock, memory_order_acquire);
  return c != NULL ? c() : monotonic_ns();
}

uint64_t zx_runtime_now(const zyntax_runtime *rt) {
  if (rt != NULL && ZYNTAX_BACKEND_HAS(rt->backend, clock)) return rt->backend->clock();
  return monotonic_ns();
}

/* The leaf constructors' end: `*out` is the new future, or NULL with the
 * failure recorded (a code from zx_check_open is recorded already). */
static int made(int rc, zyntax_future *f, zyntax_future **out, const char *func) {
  *out = rc == 0 ? f : NULL;
  return rc == 0 ? 0 : zx_fail_code(func, rc);
}

/* The arguments every leaf constructor checks first: 0, or the recorded
 * failure with `*out` (when there is one) set to NULL. */
static int leaf_check(zyntax_runtime *rt, int args_ok, zyntax_future **out,
                      const char *func) {
  if (out == NULL) return zx_fail_code(func, ZYNTAX_EINVAL);
  *out = NULL;
  if (rt == NULL || !args_ok) return zx_fail_code(func, ZYNTAX_EINVAL);
  /* Open (the common case) without a call: an fd wait per read. */
  return zx_runtime_open(rt) ? 0 : zx_check_open(rt, func);
}

int zyntax_sleep_until_future(zyntax_runtime *rt, uint64_t deadline_ns,
                              zyntax_future **out) {
  zyntax_future *f = NULL;
  int rc = leaf_check(rt, 1, out, __func__);
  if (rc != 0) return rc;
  rc = rt->backend->sleep_until(rt->impl, deadline_ns, &f);
  return made(rc, f, out, __func__);
}

int zyntax_sleep_future(zyntax_runtime *rt, uint64_t ns, zyntax_future **out) {
  uint64_t now = zx_runtime_now(rt);
  uint64_t deadline = ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
  return zyntax_sleep_until_future(rt, deadline, out);
}

int zyntax_fd_wait_future(zyntax_runtime *rt, int fd, unsigned events,
                          zyntax_future **out) {
  zyntax_future *f = NULL;
  unsigned all = ZYNTAX_READABLE | ZYNTAX_WRITABLE;
  int ok = fd >= 0 && events != 0 && (events & ~all) == 0;
  int rc = leaf_check(rt, ok, out, __func__);
  if (rc != 0) return rc;
  rc = rt->backend->fd_wait(rt->impl, fd, events, &f);
  return made(rc, f, out, __func__);
}

int zyntax_blocking_future(zyntax_runtime *rt, zyntax_blocking_fn fn, void *arg,
                           zyntax_future **out) {
  zyntax_future *f = NULL;
  int rc = leaf_check(rt, fn != NULL, out, __func__);
  if (rc != 0) return rc;
  rc = rt->backend->blocking(rt->impl, fn, arg, &f);
  return made(rc, f, out, __func__);
}

/* ---- generic future access ---- */

/* A poll's NULL arguments end it at once: READY, so nothing awaits forever. */
zyntax_poll zyntax_future_poll(zyntax_future *f, const zyntax_waker *waker,
                               int *result) {
  if (f == NULL || result == NULL) {
    int bad = zx_fail_code(__func__, ZYNTAX_EINVAL);
    if (result != NULL) *result = bad;
    return ZYNTAX_READY;
  }
  if (f->result == ZYNTAX_NOT_FINISHED && f->ops->poll(f, waker) == ZYNTAX_PENDING)
    return ZYNTAX_PENDING;
  *result = f->result;
  return ZYNTAX_READY;
}

int zyntax_future_result(const zyntax_future *f) {
  return f ? f->result : zx_fail_code(__func__, ZYNTAX_EINVAL);
}

void zyntax_future_drop(zyntax_future *f) {
  if (f != NULL) f->ops->drop(f);
}

/* ---- the no-op waker ---- */

static zyntax_waker noop_clone(const void *data);
static void noop(const void *data) { (void)data; }
static const zyntax_waker_vtable noop_vtable = {noop_clone, noop, noop, noop};
static zyntax_waker noop_clone(const void *data) {
  return (zyntax_waker){data, &noop_vtable};
}

zyntax_waker zyntax_waker_noop(void) { return noop_clone(NULL); }
