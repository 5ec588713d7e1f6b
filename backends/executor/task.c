/* Task records: allocation, reference counts, wakers, and the handle
 * operations (state, status, cancel, release). */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "task.h"

static const zyntax_task_ops task_ops;
static const zyntax_waker_vtable waker_vtable;

static size_t round_up(size_t n, size_t align) {
  return (n + align - 1) & ~(align - 1);
}

zx_task *zx_task_new(zx_exec *ex, const zyntax_spawn_args *args, uint32_t bits) {
  size_t align = args->inplace_size ? args->inplace_align : 1;
  if (align < alignof(max_align_t)) align = alignof(max_align_t);
  size_t header = round_up(sizeof(zx_task), align);
  size_t total = round_up(header + args->inplace_size, align);
  zx_task *t = align > alignof(max_align_t) ? aligned_alloc(align, total)
                                            : malloc(total);
  if (t == NULL) return NULL;
  memset(t, 0, sizeof *t);
  t->pub.ops = &task_ops;
  t->pub.owner = ex->owner;
  atomic_init(&t->state, bits);
  atomic_init(&t->refs, 1);
  zx_waker_slot_init(&t->joiner);
  t->ex = ex;
  t->poll = args->poll;
  t->drop = args->drop;
  t->user_state = args->inplace_size ? (char *)t + header : args->state;
  atomic_fetch_add_explicit(&ex->refs, 1, memory_order_relaxed);
  return t;
}

void zx_task_ref(zx_task *t) {
  atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void zx_task_unref(zx_task *t) {
  if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1) return;
  zx_exec *ex = t->ex;
  free(t);
  zx_exec_unref(ex);
}

void zx_task_drop_state(zx_task *t) {
  uint32_t prev = atomic_fetch_or_explicit(&t->state, ZX_DROPPED,
                                           memory_order_acq_rel);
  if (!(prev & ZX_DROPPED) && t->drop != NULL) t->drop(t->user_state);
}

void zx_task_wake(zx_task *t) {
  zx_exec *ex = t->ex;
  if (atomic_load_explicit(&ex->closed, memory_order_acquire)) return;
  uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
  uint32_t next;
  do {
    if (s & ZX_COMPLETE) return;
    if (s & (ZX_SCHEDULED | ZX_NOTIFIED)) {
      next = s;
      break;
    }
    next = s | ((s & ZX_RUNNING) ? ZX_NOTIFIED : ZX_SCHEDULED);
  } while (!atomic_compare_exchange_weak_explicit(
      &t->state, &s, next, memory_order_acq_rel, memory_order_acquire));
  if (zx_exec_is_current(ex))
    zx_count(&ex->stats.wakes_local);
  else
    zx_count_shared(&ex->stats.wakes_remote);
  if (next != s && (next & ZX_SCHEDULED)) zx_exec_push(ex, t);
}

/* ---- the task waker ---- */

static zyntax_waker waker_clone(const void *data) {
  zx_task_ref((zx_task *)data);
  return (zyntax_waker){data, &waker_vtable};
}

static void waker_wake(const void *data) {
  zx_task_wake((zx_task *)data);
  zx_task_unref((zx_task *)data);
}

static void waker_wake_by_ref(const void *data) { zx_task_wake((zx_task *)data); }

static void waker_drop(const void *data) { zx_task_unref((zx_task *)data); }

static const zyntax_waker_vtable waker_vtable = {waker_clone, waker_wake,
                                                 waker_wake_by_ref, waker_drop};

zyntax_waker zx_task_waker(zx_task *t) { return (zyntax_waker){t, &waker_vtable}; }

/* ---- handle operations ---- */

static void *task_state(const zyntax_task *task) {
  const zx_task *t = (const zx_task *)task;
  uint32_t s = atomic_load_explicit(&((zx_task *)t)->state, memory_order_acquire);
  return (s & ZX_DROPPED) ? NULL : t->user_state;
}

static int task_status(const zyntax_task *task) {
  zx_task *t = (zx_task *)task;
  uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
  return (s & ZX_COMPLETE) ? t->outcome : ZYNTAX_TASK_RUNNING;
}

static int task_cancel(zyntax_task *task) {
  zx_task *t = (zx_task *)task;
  uint32_t prev = atomic_fetch_or_explicit(&t->state, ZX_CANCEL,
                                           memory_order_acq_rel);
  if (prev & ZX_COMPLETE) return ZYNTAX_EFINISHED;
  zx_task_wake(t);
  return 0;
}

static int task_release(zyntax_task *task) {
  zx_task *t = (zx_task *)task;
  uint32_t prev = atomic_fetch_and_explicit(&t->state, ~(uint32_t)ZX_HANDLE,
                                            memory_order_acq_rel);
  if (!(prev & ZX_HANDLE)) return ZYNTAX_EINVAL; /* released twice */
  if (prev & ZX_COMPLETE) {
    zx_task_drop_state(t);
    zx_task_unhold(t);
  }
  zx_task_unref(t);
  return 0;
}

static const zyntax_task_ops task_ops = {task_state, task_status, task_cancel,
                                         task_release, zx_task_join};
