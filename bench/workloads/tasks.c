/* Scheduler workloads: dispatch (and the direct-call reference), yield_many,
 * spawn_many, chained_spawn. */
#include <stddef.h>

#include "zy.h"

/* ---- dispatch: one task that wakes itself N times ---- */

typedef struct spin_state {
  uint64_t polls;
  uint64_t target;
} spin_state;

static zyntax_poll spin_poll(void *state, const zyntax_waker *waker) {
  spin_state *s = state;
  if (++s->polls < s->target) {
    zyntax_waker_wake_by_ref(waker);
    return ZYNTAX_PENDING;
  }
  return ZYNTAX_READY;
}

static const zyntax_future_vtable spin_vtable = {spin_poll, NULL};

static int spin_init(void *state, void *arg) {
  *(spin_state *)state = (spin_state){0, *(const uint64_t *)arg};
  return 0;
}

int zy_dispatch(const zb_sizes *sizes, zb_sample *out) {
  zyntax_runtime *rt = zy_runtime();
  uint64_t target = sizes->dispatch_polls;
  zb_begin(out);
  zyntax_task *task;
  zyntax_runtime_spawn_inplace(rt, &spin_vtable, sizeof(spin_state),
                               _Alignof(spin_state), spin_init, &target, &task);
  if (task == NULL) return zb_fail(zyntax_last_error()->message);
  int rc = zyntax_runtime_block_on(rt, task);
  zb_end(out);
  const spin_state *s = zyntax_task_state(task);
  uint64_t polls = s ? s->polls : 0;
  zyntax_task_drop(task);
  if (rc != 0 || polls != target) return zb_fail("dispatch: wrong poll count");
  out->ops = target;
  return 0;
}

/* The same poll function called by a plain loop through a function pointer
 * the compiler cannot see through: what a poll costs without a runtime. */
int zy_direct(const zb_sizes *sizes, zb_sample *out) {
  zyntax_poll_fn volatile poll = spin_poll;
  zyntax_waker noop = zyntax_waker_noop();
  spin_state s = {0, sizes->dispatch_polls};
  zb_begin(out);
  while (poll(&s, &noop) == ZYNTAX_PENDING) {
  }
  zb_end(out);
  out->ops = s.polls;
  return s.polls == sizes->dispatch_polls ? 0 : zb_fail("direct: wrong poll count");
}

/* ---- yield_many: T tasks x Y yields (zyntax_yield_poll: what compiled
 * code inlines for yield_now().await, no allocation) ---- */

typedef struct yielder {
  zy_latch *latch;
  uint32_t left;
  unsigned char yielded;
} yielder;

static zyntax_poll yielder_poll(void *state, const zyntax_waker *waker) {
  yielder *y = state;
  for (; y->left > 0; y->left--)
    if (zyntax_yield_poll(&y->yielded, waker) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  zy_latch_count_down(y->latch, 1);
  return ZYNTAX_READY;
}

static const zyntax_future_vtable yielder_vtable = {yielder_poll, NULL};

static uint64_t start_yielders(zy_root *root) {
  const zb_sizes *sizes = root->ctx;
  yielder init = {&root->latch, sizes->yield_count, 0};
  for (uint32_t i = 0; i < sizes->yield_tasks; i++)
    if (zy_spawn_detached(root->rt, &yielder_vtable, &init, sizeof init) != 0)
      return sizes->yield_tasks - i;
  return 0;
}

int zy_yield_many(const zb_sizes *sizes, zb_sample *out) {
  if (zy_run_root(zy_runtime(), sizes->yield_tasks, start_yielders, (void *)sizes, out))
    return -1;
  out->ops = (uint64_t)sizes->yield_tasks * sizes->yield_count;
  return 0;
}

/* ---- spawn_many: N tasks that complete on their first poll ---- */

typedef struct leaf_task {
  zy_latch *latch;
} leaf_task;

static zyntax_poll leaf_poll(void *state, const zyntax_waker *waker) {
  (void)waker;
  zy_latch_count_down(((leaf_task *)state)->latch, 1);
  return ZYNTAX_READY;
}

static const zyntax_future_vtable leaf_vtable = {leaf_poll, NULL};

static uint64_t start_leaves(zy_root *root) {
  leaf_task init = {&root->latch};
  for (uint64_t i = 0; i < root->count; i++)
    if (zy_spawn_detached(root->rt, &leaf_vtable, &init, sizeof init) != 0)
      return root->count - i;
  return 0;
}

int zy_spawn_many(const zb_sizes *sizes, zb_sample *out) {
  if (zy_run_root(zy_runtime(), sizes->spawn_tasks, start_leaves, NULL, out)) return -1;
  out->ops = sizes->spawn_tasks;
  return 0;
}

/* ---- chained_spawn: task i spawns task i+1 ---- */

typedef struct link_task {
  zy_latch *latch;
  zyntax_runtime *rt;
  uint32_t left; /* links after this one */
} link_task;

static const zyntax_future_vtable link_vtable;

static zyntax_poll link_poll(void *state, const zyntax_waker *waker) {
  (void)waker;
  link_task *t = state;
  if (t->left == 0) {
    zy_latch_count_down(t->latch, 1);
    return ZYNTAX_READY;
  }
  link_task next = {t->latch, t->rt, t->left - 1};
  if (zy_spawn_detached(t->rt, &link_vtable, &next, sizeof next) != 0)
    zy_latch_fail(t->latch); /* the chain is cut: end the repetition */
  return ZYNTAX_READY;
}

static const zyntax_future_vtable link_vtable = {link_poll, NULL};

static uint64_t start_chain(zy_root *root) {
  const zb_sizes *sizes = root->ctx;
  link_task first = {&root->latch, root->rt, sizes->chain_tasks - 1};
  return zy_spawn_detached(root->rt, &link_vtable, &first, sizeof first) == 0 ? 0 : 1;
}

int zy_chained_spawn(const zb_sizes *sizes, zb_sample *out) {
  zyntax_runtime *rt = zy_runtime();
  zyntax_stats before = {.size = sizeof before}, after = {.size = sizeof after};
  zyntax_runtime_stats(rt, &before);
  if (zy_run_root(rt, 1, start_chain, (void *)sizes, out)) return -1;
  zyntax_runtime_stats(rt, &after);
  /* The chain's length is checked on the runtime's own counter. */
  if (after.tasks_spawned - before.tasks_spawned != (uint64_t)sizes->chain_tasks + 1)
    return zb_fail("chained_spawn: the chain was cut");
  out->ops = sizes->chain_tasks;
  return 0;
}
