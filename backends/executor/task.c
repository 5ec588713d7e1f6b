/* Task records: allocation, wakers, and the handle operations (state,
 * status, cancel, release). Every state change is a transition of
 * task_state.h. */
#include "task.h"


/* Inlined into the waker's wake_by_ref: a wake on the driving thread
 * (one task waking another) queues without a further call. */
static inline __attribute__((always_inline)) void task_wake(zx_task *t) {
  zx_exec *ex = t->ex;
  if (zx_exec_closed(ex)) return;
  if (zx_exec_is_current(ex)) {
    zx_count(&ex->stats.wakes_local);
    if (zx_transition_wake_local(&t->state) == ZX_WAKE_SUBMIT) zx_exec_push_here(ex, t);
  } else {
    zx_count_shared(&ex->stats.wakes_remote);
    if (zx_transition_wake(&t->state) == ZX_WAKE_SUBMIT) zx_exec_push(ex, t);
  }
}

void zx_task_wake(zx_task *t) { task_wake(t); }

/* ---- the task waker ---- */

static zyntax_waker waker_clone(const void *data) {
  zx_state_ref(&((zx_task *)data)->state);
  return (zyntax_waker){data, &zx_task_waker_vtable};
}

static void waker_wake(const void *data) {
  zx_task *t = (zx_task *)data;
  zx_exec *ex = t->ex;
  if (zx_exec_closed(ex)) {
    zx_task_unref(t, 1);
    return;
  }
  if (zx_exec_is_current(ex))
    zx_count(&ex->stats.wakes_local);
  else
    zx_count_shared(&ex->stats.wakes_remote);
  switch (zx_transition_wake_by_val(&t->state)) {
  case ZX_WAKE_VAL_SUBMIT:
    zx_exec_push(ex, t);
    zx_task_unref(t, 1); /* kept across the push: see the transition */
    break;
  case ZX_WAKE_VAL_DEALLOC: zx_task_free(t); break;
  case ZX_WAKE_VAL_NOTHING: break;
  }
}

/* The driving thread's fast path: a task waking itself through the waker
 * its poll was given (a yield) only marks itself, and the end of the poll
 * queues it again without an atomic read-modify-write. Only the driving
 * thread reads or writes `current` and `self_woken`. */
static void waker_wake_by_ref(const void *data) {
  zx_task *t = (zx_task *)data;
  zx_exec *ex = t->ex;
  if (zx_exec_is_current(ex) && ex->current == t) {
    ex->self_woken = 1;
    zx_count(&ex->stats.wakes_local);
    return;
  }
  task_wake(t);
}

static void waker_drop(const void *data) { zx_task_unref((zx_task *)data, 1); }

const zyntax_waker_vtable zx_task_waker_vtable = {waker_clone, waker_wake,
                                                 waker_wake_by_ref, waker_drop};

/* ---- handle operations ---- */

static void *task_state(const zyntax_task *task) {
  zx_task *t = (zx_task *)task;
  return (zx_state_load(&t->state) & ZX_DROPPED) ? NULL : t->user_state;
}

static int task_status(const zyntax_task *task) {
  zx_task *t = (zx_task *)task;
  return (zx_state_load(&t->state) & ZX_COMPLETE) ? t->outcome : ZYNTAX_NOT_FINISHED;
}

static int task_cancel(zyntax_task *task) {
  zx_task *t = (zx_task *)task;
  zx_exec *ex = t->ex;
  switch (zx_transition_cancel(&t->state)) {
  case ZX_CANCEL_FINISHED: return ZYNTAX_EFINISHED;
  case ZX_CANCEL_SUBMIT:
    zx_exec_push(ex, t); /* closed: shutdown cancels it anyway */
    break;
  case ZX_CANCEL_DONE: break;
  }
  return 0;
}

/* Every case but a detached spawn's (task_release's fast path). */
static __attribute__((noinline)) int task_release_slow(zx_task *t) {
  int drop_state = 0;
  switch (zx_transition_release(&t->state, &drop_state)) {
  case ZX_RELEASE_TWICE: return ZYNTAX_EINVAL;
  case ZX_RELEASE_RUNNING: return 0; /* its reference went with HANDLE */
  case ZX_RELEASE_COMPLETE: break;
  }
  if (drop_state) zx_task_drop_state(t);
  zx_exec_reap(t->ex, t);
  zx_task_unref(t, 1); /* the handle's */
  return 0;
}

/* A handle dropped on the driving thread before the task's first poll (a
 * detached spawn) takes zx_transition_release_local(): a load and a store,
 * and no register saved. */
static int task_release(zyntax_task *task) {
  zx_task *t = (zx_task *)task;
  if (zx_exec_is_current(t->ex) && zx_transition_release_local(&t->state)) return 0;
  return task_release_slow(t);
}

const zyntax_task_ops zyntax_executor_task_ops = ZYNTAX_TASK_OPS_INIT(
    task_state, task_status, task_cancel, task_release, zx_task_join);
