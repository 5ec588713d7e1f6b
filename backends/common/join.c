/* The join future: READY with the task's outcome once it finished. Polled
 * from any thread (even a task of another runtime), so the waker slot is
 * guarded by a spin lock held only for a waker swap. */
#include <stdlib.h>

#include "task.h"

typedef struct zx_join {
  zyntax_future base;
  zx_task *task;
} zx_join;

static void lock(zx_task *t) {
  while (atomic_flag_test_and_set_explicit(&t->join_lock, memory_order_acquire)) {
  }
}

static void unlock(zx_task *t) {
  atomic_flag_clear_explicit(&t->join_lock, memory_order_release);
}

static int finished(zx_task *t) {
  return (atomic_load_explicit(&t->state, memory_order_acquire) & ZX_COMPLETE) != 0;
}

static zyntax_poll join_poll(zyntax_future *f, const zyntax_waker *waker) {
  zx_task *t = ((zx_join *)f)->task;
  if (!finished(t)) {
    zyntax_waker old = ZYNTAX_WAKER_EMPTY;
    lock(t);
    if (t->join_waker.vtable == NULL ||
        !zyntax_waker_will_wake(&t->join_waker, waker)) {
      old = t->join_waker;
      t->join_waker = zyntax_waker_clone(waker);
    }
    unlock(t);
    zyntax_waker_drop(&old); /* outside the lock: it may free a task */
    /* Completion sets ZX_COMPLETE before taking the waker: checking again
     * after storing it means a completion in between is never missed. */
    if (!finished(t)) return ZYNTAX_PENDING;
  }
  f->result = t->outcome;
  return ZYNTAX_READY;
}

static void join_drop(zyntax_future *f) {
  zx_task *t = ((zx_join *)f)->task;
  lock(t);
  zyntax_waker old = t->join_waker;
  t->join_waker = (zyntax_waker)ZYNTAX_WAKER_EMPTY;
  unlock(t);
  zyntax_waker_drop(&old);
  atomic_fetch_and_explicit(&t->state, ~(uint32_t)ZX_JOINED, memory_order_acq_rel);
  zx_task_unref(t);
  free(f);
}

static const zyntax_future_ops join_ops = {join_poll, join_drop};

int zx_task_join(zyntax_task *task, zyntax_future **out) {
  zx_task *t = (zx_task *)task;
  zx_join *j = malloc(sizeof *j);
  if (j == NULL) return ZYNTAX_ENOMEM;
  uint32_t prev = atomic_fetch_or_explicit(&t->state, ZX_JOINED, memory_order_acq_rel);
  if (prev & ZX_JOINED) {
    free(j);
    return ZYNTAX_EBUSY;
  }
  zx_task_ref(t);
  j->base = (zyntax_future){&join_ops, ZYNTAX_TASK_RUNNING};
  j->task = t;
  *out = &j->base;
  return 0;
}

void zx_task_notify_joiner(zx_task *t) {
  lock(t);
  zyntax_waker w = t->join_waker;
  t->join_waker = (zyntax_waker)ZYNTAX_WAKER_EMPTY;
  unlock(t);
  zyntax_waker_wake(&w);
}
