/* The yield future: needs nothing but the waker, so it is the same on every
 * backend. It remembers its runtime only to refuse a poll from another
 * runtime's task, as every runtime future does (ZYNTAX_EFOREIGN). */
#include <stdlib.h>

#include "shared.h"

typedef struct yield_future {
  zyntax_future base;
  const zyntax_runtime *rt; /* compared, never dereferenced */
  int polled;
} yield_future;

static zyntax_poll yield_poll(zyntax_future *f, const zyntax_waker *waker) {
  yield_future *y = (yield_future *)f;
  if (zyntax_runtime_current() != y->rt) {
    f->result = ZYNTAX_EFOREIGN;
    return ZYNTAX_READY;
  }
  if (y->polled) {
    f->result = 0;
    return ZYNTAX_READY;
  }
  y->polled = 1;
  zyntax_waker_wake_by_ref(waker);
  return ZYNTAX_PENDING;
}

static void yield_drop(zyntax_future *f) { free(f); }

static const zyntax_future_ops yield_ops = ZYNTAX_FUTURE_OPS_INIT(yield_poll, yield_drop);

zyntax_future *zyntax_yield_now(zyntax_runtime *rt) {
  if (rt == NULL) {
    zx_fail_code(__func__, ZYNTAX_EINVAL);
    return NULL;
  }
  if (zx_check_open(rt, __func__) != 0) return NULL;
  yield_future *y = malloc(sizeof *y);
  if (y == NULL) {
    zx_fail_code(__func__, ZYNTAX_ENOMEM);
    return NULL;
  }
  y->base = (zyntax_future){&yield_ops, ZYNTAX_TASK_RUNNING};
  y->rt = rt;
  y->polled = 0;
  return &y->base;
}
