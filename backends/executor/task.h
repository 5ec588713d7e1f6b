/* A task record of the C executor: one allocation holding the header and,
 * for in-place spawns, the state. Shared by task.c, join.c, executor.c. */
#ifndef ZYNTAX_COMMON_TASK_H
#define ZYNTAX_COMMON_TASK_H

#include "executor.h"
#include "waker_slot.h"

/* Bits of zx_task.state. */
enum {
  ZX_SCHEDULED = 1u << 0, /* in the run queue or the inbox */
  ZX_RUNNING = 1u << 1,   /* being polled (driving thread) */
  ZX_NOTIFIED = 1u << 2,  /* woken while running: poll again */
  ZX_COMPLETE = 1u << 3,  /* finished; `outcome` is set */
  ZX_CANCEL = 1u << 4,    /* cancellation requested */
  ZX_HANDLE = 1u << 5,    /* the spawner's handle is not yet released */
  ZX_DROPPED = 1u << 6,   /* the state was dropped (at most once) */
  ZX_JOINED = 1u << 7,    /* a join future exists */
};

struct zx_task {
  struct zyntax_task pub; /* first: the loader sees only this */
  _Atomic uint32_t state;
  _Atomic uint32_t refs;
  zx_exec *ex;
  zyntax_poll_fn poll;
  zyntax_drop_fn drop;
  void *user_state;
  int outcome;           /* written before ZX_COMPLETE is published */
  int unlinked_spawn;    /* spawned remotely, not yet on the owned list */
  zx_task *next;         /* run queue / inbox link */
  /* Links on the owned list (unfinished, driving thread) or, once it
   * completed with its handle held, on the held list (under ex->lock). */
  zx_task *owned_prev, *owned_next;
  int held; /* on the held list; guarded by ex->lock */
  zx_waker_slot joiner; /* the join future's waker */
};

/* Allocates a record with refs = 1 and state = `bits`; for in-place states
 * reserves `args->inplace_size` bytes after the header. NULL on ENOMEM. */
zx_task *zx_task_new(zx_exec *ex, const zyntax_spawn_args *args, uint32_t bits);

void zx_task_ref(zx_task *t);
void zx_task_unref(zx_task *t);

/* Schedules `t` unless it is finished or already scheduled (any thread). */
void zx_task_wake(zx_task *t);

/* Drops the state if nobody did yet (exactly once, whoever gets here). */
void zx_task_drop_state(zx_task *t);

/* The waker passed to polls of `t` (borrowed: no reference taken). */
zyntax_waker zx_task_waker(zx_task *t);

/* Takes `t` off the held list if it is there (any thread). */
void zx_task_unhold(zx_task *t);

/* Wakes the join future's waker, if any (after ZX_COMPLETE is set). */
void zx_task_notify_joiner(zx_task *t);

/* Creates the join future of `t` (join.c). */
int zx_task_join(zyntax_task *task, zyntax_future **out);

/* Queues `t` on its executor: locally when on the driving thread, else via
 * the inbox (executor.c). */
void zx_exec_push(zx_exec *ex, zx_task *t);

#endif /* ZYNTAX_COMMON_TASK_H */
