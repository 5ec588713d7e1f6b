/* A task record of the C executor: one allocation holding the header and,
 * for in-place spawns, the state. Its lifecycle is the state word's
 * (task_state.h); the functions here are the executor's side of it. */
#ifndef ZYNTAX_COMMON_TASK_H
#define ZYNTAX_COMMON_TASK_H

#include <stdalign.h>
#include <stddef.h>

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
  /* The owned list (driving thread): the tasks the executor holds its
   * reference for that are not (only) in the run queue - linked when one
   * first goes idle or completes with its handle still out (executor.c). */
  zx_task *owned_prev, *owned_next;
  zx_waker_slot joiner; /* the join future's waker */
};

/* Allocates a record with state `word`; for in-place states reserves
 * `args->inplace_size` bytes after the header. NULL on ENOMEM. Inline:
 * it is most of a spawn. */
static inline size_t zx_round_up(size_t n, size_t align) {
  return (n + align - 1) & ~(align - 1);
}

static inline zx_task *zx_task_new(zx_exec *ex, const zyntax_spawn_args *args,
                                   zx_snapshot word) {
  size_t align = args->inplace_size ? args->inplace_align : 1;
  if (align < alignof(max_align_t)) align = alignof(max_align_t);
  size_t header = zx_round_up(sizeof(zx_task), align);
  size_t total = zx_round_up(header + args->inplace_size, align);
  uint8_t cls = zx_arena_class(total, align);
  zx_task *t = zx_exec_alloc(ex, cls, total, align);
  if (t == NULL) return NULL;
  /* Every field once, no memset first: this is most of a spawn's writes. */
  t->pub.ops = &zyntax_executor_task_ops;
  t->pub.owner = ex->owner;
  zx_state_init(&t->state, word);
  t->ex = ex;
  t->poll = args->poll;
  t->drop = args->drop;
  t->user_state = args->inplace_size ? (char *)t + header : args->state;
  t->outcome = 0;
  t->cls = cls;
  t->next = NULL;
  t->owned_prev = t->owned_next = NULL;
  zx_waker_slot_init(&t->joiner);
  return t;
}


/* Frees a record whose last reference is gone (inline: the driving
 * thread's free is a push on its local list). */
static inline void zx_task_free(zx_task *t) { zx_exec_free(t->ex, t, t->cls); }

/* Drops `n` references; the last one frees the record. */
static inline void zx_task_unref(zx_task *t, unsigned n) {
  if (zx_state_unref(&t->state, n)) zx_task_free(t);
}

/* Drops the user state (the caller won ZX_DROPPED). */
static inline void zx_task_drop_state(zx_task *t) {
  if (t->drop != NULL) t->drop(t->user_state);
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

/* ---- the driving thread's queues (inline: every local wake and requeue
 * passes here, and a call with its own frame cost a third of a
 * self-woken poll) ---- */

/* A loop callback queued a task: the loop turn under way must not block
 * (executor.c; out of line, rare). */
void zx_exec_interrupt_loop(zx_exec *ex) __attribute__((noinline, cold));

static inline void zx_list_push(zx_task_list *l, zx_task *t) {
  t->next = NULL;
  if (l->tail)
    l->tail->next = t;
  else
    l->head = t;
  l->tail = t;
}

/* To the back of the run queue (driving thread). */
static inline void zx_push_local(zx_exec *ex, zx_task *t) {
  if (__builtin_expect(ex->in_loop && !ex->interrupted, 0)) zx_exec_interrupt_loop(ex);
  zx_list_push(&ex->run, t);
  ex->run_len++;
}

/* A task woken by another's poll on the driving thread: into the LIFO
 * slot (executor.c); the task it displaces goes to the back of the queue. */
static inline void zx_push_lifo(zx_exec *ex, zx_task *t) {
  if (ex->current != ex->lifo_last) ex->lifo_polls = 0; /* a new run */
  zx_task *displaced = ex->lifo;
  ex->lifo = t;
  if (displaced != NULL) zx_push_local(ex, displaced);
}

/* zx_exec_push on the driving thread, the executor open: woken by another
 * task's poll, the LIFO slot (not under simulation: its pick sees the
 * queue only), else the queue. */
static inline void zx_exec_push_here(zx_exec *ex, zx_task *t) {
  if (ex->current != NULL && ex->current != t && ex->hooks == NULL)
    zx_push_lifo(ex, t);
  else
    zx_push_local(ex, t);
}

/* The handle of a finished task was released on a thread that does not
 * drive `ex`: the driving thread takes it off the owned list and drops the
 * executor's reference (executor.c). The caller still holds the handle's
 * reference. */
void zx_exec_reap(zx_exec *ex, zx_task *t);

#endif /* ZYNTAX_COMMON_TASK_H */
