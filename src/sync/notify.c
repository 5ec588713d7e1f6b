/* The notify: a waitq whose permits saturate at one. notify_one is a
 * release of one permit (to the oldest waiter, else stored); notify_all
 * hands a permit to every waiter queued now and stores none. */
#include <stdlib.h>

#include "shared.h"
#include "waitq.h"

struct zyntax_notify {
  zx_mutex lock;
  zx_waitq q;
  size_t refs; /* under lock */
};

struct zyntax_notified {
  zyntax_notify *n;
  zx_waiter wait;
};

int zyntax_notify_create(zyntax_notify **out) {
  if (out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  zyntax_notify *n = *out = malloc(sizeof *n);
  if (n == NULL) return zx_fail_code(__func__, ZYNTAX_ENOMEM);
  zx_mutex_init(&n->lock);
  zx_waitq_init(&n->q, 0, 1);
  n->refs = 1;
  return 0;
}

static void notify_unref(zyntax_notify *n) {
  zx_lock(&n->lock);
  int last = --n->refs == 0;
  zx_unlock(&n->lock);
  if (!last) return;
  free(n);
}

/* Inlined into notify_one and notify_all: one call per notify. */
static inline __attribute__((always_inline)) void notify_release(zyntax_notify *n, int all,
                                                                 const char *func) {
  if (__builtin_expect(n == NULL, 0)) {
    zx_fail_code(func, ZYNTAX_EINVAL);
    return;
  }
  ZX_WAKES_EMPTY(wakes); /* one notify per message: no 16-slot memset */
  zx_lock(&n->lock);
  if (all)
    zx_waitq_release_all(&n->q, &wakes);
  else
    zx_waitq_release(&n->q, 1, &wakes);
  zx_unlock(&n->lock);
  zx_wakes_run(&wakes);
}

void zyntax_notify_one(zyntax_notify *n) { notify_release(n, 0, __func__); }

void zyntax_notify_all(zyntax_notify *n) { notify_release(n, 1, __func__); }

void zyntax_notify_drop(zyntax_notify *n) {
  if (n != NULL) notify_unref(n);
}

int zyntax_notified_create(zyntax_notify *n, zyntax_notified **out) {
  if (out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  *out = NULL;
  if (n == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  zyntax_notified *wt = calloc(1, sizeof *wt);
  if (wt == NULL) return zx_fail_code(__func__, ZYNTAX_ENOMEM);
  wt->n = n;
  zx_lock(&n->lock);
  n->refs++;
  zx_unlock(&n->lock);
  *out = wt;
  return 0;
}

/* Bad arguments: READY (never awaited forever) with ZYNTAX_EINVAL. Out of
 * line, so the poll's own path saves no registers for it. */
static __attribute__((noinline, cold)) zyntax_poll notified_bad(int *result) {
  int bad = zx_fail_code("zyntax_notified_poll", ZYNTAX_EINVAL);
  if (result != NULL) *result = bad;
  return ZYNTAX_READY;
}

/* The wait under the lock: 1 notified now, 0 queued. */
static __attribute__((noinline)) int notified_locked(zyntax_notified *wt,
                                                     const zyntax_waker *waker) {
  zx_lock(&wt->n->lock);
  int got = zx_waitq_acquire(&wt->n->q, &wt->wait, waker);
  zx_unlock(&wt->n->lock);
  return got != 0;
}

zyntax_poll zyntax_notified_poll(zyntax_notified *wt, const zyntax_waker *waker,
                                 int *result) {
  if (__builtin_expect(wt == NULL || waker == NULL || result == NULL, 0))
    return notified_bad(result);
  /* A notify handed to this wait is taken without the lock. */
  if (!zx_waiter_take_grant(&wt->wait) && !notified_locked(wt, waker))
    return ZYNTAX_PENDING;
  *result = 0;
  return ZYNTAX_READY;
}

void zyntax_notified_drop(zyntax_notified *wt) {
  if (wt == NULL) return;
  zyntax_notify *n = wt->n;
  zx_wakes wakes = ZX_WAKES_INIT;
  zx_lock(&n->lock);
  zx_waitq_cancel(&n->q, &wt->wait, &wakes);
  zx_unlock(&n->lock);
  zx_wakes_run(&wakes);
  free(wt);
  notify_unref(n);
}
