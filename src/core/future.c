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
  if (ZX_HAS_ENTRY(be, clock))
    atomic_store_explicit(&process_clock, be->clock, memory_order_release);
}

uint64_t zyntax_now(void) {
  clock_fn c = atomic_load_explicit(&process_clock, memory_order_acquire);
  return c != NULL ? c() : monotonic_ns();
}

uint64_t zx_runtime_now(const zyntax_runtime *rt) {
  if (rt != NULL && ZX_HAS_ENTRY(rt->backend, clock)) return rt->backend->clock();
  return monotonic_ns();
}

static zyntax_future *made(int rc, zyntax_future *f, const char *func) {
  if (rc != 0) {
    zx_fail_code(func, rc);
    return NULL;
  }
  return f;
}

zyntax_future *zyntax_sleep_until(zyntax_runtime *rt, uint64_t deadline_ns) {
  zyntax_future *f = NULL;
  if (rt == NULL) return made(ZYNTAX_EINVAL, NULL, __func__);
  if (zx_check_open(rt, __func__) != 0) return NULL;
  int rc = rt->backend->sleep_until(rt->impl, deadline_ns, &f);
  return made(rc, f, __func__);
}

zyntax_future *zyntax_sleep(zyntax_runtime *rt, uint64_t ns) {
  uint64_t now = zx_runtime_now(rt);
  uint64_t deadline = ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
  return zyntax_sleep_until(rt, deadline);
}

zyntax_future *zyntax_fd_wait(zyntax_runtime *rt, int fd, unsigned events) {
  zyntax_future *f = NULL;
  unsigned all = ZYNTAX_READABLE | ZYNTAX_WRITABLE;
  if (rt == NULL || fd < 0 || events == 0 || (events & ~all) != 0)
    return made(ZYNTAX_EINVAL, NULL, __func__);
  if (zx_check_open(rt, __func__) != 0) return NULL;
  int rc = rt->backend->fd_wait(rt->impl, fd, events, &f);
  return made(rc, f, __func__);
}

zyntax_future *zyntax_blocking(zyntax_runtime *rt, zyntax_blocking_fn fn,
                               void *arg) {
  zyntax_future *f = NULL;
  if (rt == NULL || fn == NULL) return made(ZYNTAX_EINVAL, NULL, __func__);
  if (zx_check_open(rt, __func__) != 0) return NULL;
  int rc = rt->backend->blocking(rt->impl, fn, arg, &f);
  return made(rc, f, __func__);
}

/* ---- generic future access ---- */

zyntax_poll zyntax_future_poll(zyntax_future *f, const zyntax_waker *waker) {
  if (f == NULL) return ZYNTAX_READY;
  if (f->result != ZYNTAX_TASK_RUNNING) return ZYNTAX_READY;
  return f->ops->poll(f, waker);
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
