/* The join future: READY with the task's outcome once it finished. It may
 * be polled from any thread (even a task of another runtime). */
#include <stdalign.h>

#include "task.h"

typedef struct zx_join {
  zyntax_future base;
  zx_task *task;
} zx_join;

static int finished(zx_task *t) {
  return (zx_state_load(&t->state) & ZX_COMPLETE) != 0;
}

static zyntax_poll join_poll(zyntax_future *f, const zyntax_waker *waker) {
  zx_task *t = ((zx_join *)f)->task;
  if (!finished(t)) {
    zx_waker_slot_store(&t->joiner, waker);
    /* Completion sets ZX_COMPLETE before taking the waker: checking again
     * after storing it means a completion in between is never missed. */
    if (!finished(t)) return ZYNTAX_PENDING;
  }
  f->result = t->outcome;
  return ZYNTAX_READY;
}

static void join_drop(zyntax_future *f) {
  zx_task *t = ((zx_join *)f)->task;
  zx_waker_slot_clear(&t->joiner);
  zx_exec_free(t->ex, f, zx_arena_class(sizeof(zx_join), alignof(zx_join)));
  if (zx_transition_unjoin(&t->state)) zx_task_free(t);
}

const zyntax_future_ops zyntax_executor_join_ops = ZYNTAX_FUTURE_OPS_INIT(join_poll, join_drop);

int zx_task_join(zyntax_task *task, zyntax_future **out) {
  zx_task *t = (zx_task *)task;
  uint8_t cls = zx_arena_class(sizeof(zx_join), alignof(zx_join));
  zx_join *j = zx_exec_alloc(t->ex, cls, sizeof *j, alignof(zx_join));
  if (j == NULL) return ZYNTAX_ENOMEM;
  if (zx_transition_join(&t->state) != 0) {
    zx_exec_free(t->ex, j, cls);
    return ZYNTAX_EBUSY;
  }
  j->base = (zyntax_future){&zyntax_executor_join_ops, ZYNTAX_NOT_FINISHED};
  j->task = t;
  *out = &j->base;
  return 0;
}
