/* The FIFO of waiters with permit hand-off (see waitq.h). */
#include "waitq.h"

#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- the mutex's contended paths (waitq.h) ---- */

void zx_lock_slow(zx_mutex *m) {
  /* Marked 2 (a sleeper may exist) whenever this thread may sleep, so the
   * holder's unlock wakes one; the wait returns at once if the word is no
   * longer 2, and a signal's EINTR just goes round again. */
  while (atomic_exchange_explicit(&m->word, 2, memory_order_acquire) != 0)
    syscall(SYS_futex, &m->word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

void zx_unlock_wake(zx_mutex *m) {
  syscall(SYS_futex, &m->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void zx_waitq_init(zx_waitq *q, size_t permits, size_t max_permits) {
  *q = (zx_waitq){NULL, NULL, permits, max_permits, 0};
}

static void unlink_waiter(zx_waitq *q, zx_waiter *w) {
  if (w->prev) w->prev->next = w->next; else q->head = w->next;
  if (w->next) w->next->prev = w->prev; else q->tail = w->prev;
  w->prev = w->next = NULL;
  w->queued = 0;
}

static void push_tail(zx_waitq *q, zx_waiter *w) {
  w->next = NULL;
  w->prev = q->tail;
  if (q->tail) q->tail->next = w; else q->head = w;
  q->tail = w;
  w->queued = 1;
}

void zx_waitq_push(zx_waitq *q, zx_waiter *w) { push_tail(q, w); }

/* Unqueues the head. Granted: marked so, and woken by reference here,
 * under the owner's mutex - its waker stays for the next wait, and only
 * the mutex keeps the waiter from replacing or dropping it meanwhile.
 * Wakers only schedule their task and never call back into the owner, so
 * waking under its mutex is safe. Not granted (close): its waker is moved
 * to `wakes`, woken after the unlock. */
static void wake_head(zx_waitq *q, int grant, zx_wakes *wakes) {
  zx_waiter *w = q->head;
  unlink_waiter(q, w);
  if (!grant) {
    zx_wakes_add(wakes, &w->waker);
    return;
  }
  atomic_store_explicit(&w->granted, 1, memory_order_release);
  zyntax_waker_wake_by_ref(&w->waker);
}

int zx_waitq_acquire(zx_waitq *q, zx_waiter *me, const zyntax_waker *waker) {
  if (me != NULL && zx_waiter_take_grant(me)) return 1;
  if (q->closed) return -1;
  if (q->permits > 0) {
    q->permits--;
    return 1;
  }
  if (me == NULL) return 0;
  /* Still queued from an earlier poll: keep the place and the clone unless
   * the task changed. */
  zyntax_waker_store(&me->waker, waker);
  if (!me->queued) push_tail(q, me);
  return 0;
}

void zx_waitq_release(zx_waitq *q, size_t n, zx_wakes *wakes) {
  for (; n > 0 && q->head != NULL; n--) wake_head(q, 1, wakes);
  if (n > q->max_permits - q->permits) n = q->max_permits - q->permits;
  q->permits += n;
}

void zx_waitq_release_all(zx_waitq *q, zx_wakes *wakes) {
  while (q->head != NULL) wake_head(q, 1, wakes);
}

void zx_waitq_cancel(zx_waitq *q, zx_waiter *me, zx_wakes *wakes) {
  if (me->queued) unlink_waiter(q, me);
  zyntax_waker_drop(&me->waker); /* only counts a reference down */
  if (zx_waiter_take_grant(me) && !q->closed) zx_waitq_release(q, 1, wakes);
}

void zx_waitq_close(zx_waitq *q, zx_wakes *wakes) {
  q->closed = 1;
  while (q->head != NULL) wake_head(q, 0, wakes);
}

void zx_wakes_add(zx_wakes *wakes, zyntax_waker *w) {
  if (w->vtable == NULL) return;
  if (wakes->n == ZX_WAKES_BATCH) {
    /* A full batch: wake this one now. Wakers only schedule their task,
     * they never call back into the caller's object, so this is safe under
     * the owner's mutex (just a longer hold). */
    zyntax_waker_wake(w);
    return;
  }
  wakes->w[wakes->n++] = *w;
  w->vtable = NULL;
}

void zx_wakes_run_all(zx_wakes *wakes) {
  for (unsigned i = 0; i < wakes->n; i++) zyntax_waker_wake(&wakes->w[i]);
  wakes->n = 0;
}
