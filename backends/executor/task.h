/* A task record of the C executor: one allocation holding the header and,
 * for in-place spawns, the state. Its lifecycle is the state word's
 * (task_state.h); the functions here are the executor's side of it. */
#ifndef ZYNTAX_COMMON_TASK_H
#define ZYNTAX_COMMON_TASK_H

#include "executor.h"
#include "task_state.h"
#include "waker_slot.h"

struct zx_task {
  struct zyntax_task pub; /* first: the loader sees only this */
  zx_state state;
  zx_exec *ex;
  zyntax_poll_fn poll;
  zyntax_drop_fn drop;
  void *user_state;
  int outcome;     /* written before ZX_COMPLETE is published */
  uint8_t cls;     /* the record's arena class */
  zx_task *next;   /* run queue / inbox link */
  /* The owned list (driving thread): every task the executor holds its
   * reference for, unfinished or finished with its handle still out. */
  zx_task *owned_prev, *owned_next;
  zx_waker_slot joiner; /* the join future's waker */
};

/* Allocates a record with state `word`; for in-place states reserves
 * `args->inplace_size` bytes after the header. NULL on ENOMEM. */
zx_task *zx_task_new(zx_exec *ex, const zyntax_spawn_args *args, zx_snapshot word);

/* Frees a record whose last reference is gone. */
void zx_task_free(zx_task *t);

/* Drops `n` references; the last one frees the record. */
static inline void zx_task_unref(zx_task *t, unsigned n) {
  if (zx_state_unref(&t->state, n)) zx_task_free(t);
}

/* Drops the user state (the caller won ZX_DROPPED). */
static inline void zx_task_drop_state(zx_task *t) {
  if (t->drop != NULL) t->drop(t->user_state);
}

/* For a lost-wake check after a PENDING poll (driving thread): 0 when
 * nothing can wake `t` any more - no wake is pending and no waker clone
 * exists - so it would never be polled again. One acquire load. */
static inline int zx_task_may_be_woken(zx_task *t) {
  return zx_state_may_be_woken(zx_state_load(&t->state));
}

/* Wakes `t` by reference (any thread; the caller holds a reference). */
void zx_task_wake(zx_task *t);

/* The task waker's vtable (task.c). */
extern const zyntax_waker_vtable zx_task_waker_vtable;

/* The waker passed to polls of `t` (borrowed: no reference taken). Inline:
 * it is made once per poll. */
static inline zyntax_waker zx_task_waker(zx_task *t) {
  return (zyntax_waker){t, &zx_task_waker_vtable};
}

/* Creates the join future of `t` (join.c). */
int zx_task_join(zyntax_task *task, zyntax_future **out);

/* Queues a task whose NOTIFIED bit the caller set: locally when on the
 * driving thread, else via the inbox (executor.c). */
void zx_exec_push(zx_exec *ex, zx_task *t);

/* The handle of a finished task was released on a thread that does not
 * drive `ex`: the driving thread takes it off the owned list and drops the
 * executor's reference (executor.c). The caller still holds the handle's
 * reference. */
void zx_exec_reap(zx_exec *ex, zx_task *t);

#endif /* ZYNTAX_COMMON_TASK_H */
