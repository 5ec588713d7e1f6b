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

int zyntax_yield_future(zyntax_runtime *rt, zyntax_future **out) {
  if (out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  *out = NULL;
  if (rt == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  int rc = zx_check_open(rt, __func__);
  if (rc != 0) return rc;
  yield_future *y = malloc(sizeof *y);
  if (y == NULL) return zx_fail_code(__func__, ZYNTAX_ENOMEM);
  y->base = (zyntax_future){&yield_ops, ZYNTAX_NOT_FINISHED};
  y->rt = rt;
  y->polled = 0;
  *out = &y->base;
  return 0;
}
