/* The root task, the latch and detached spawns every workload uses. */
#include <string.h>

#include "zy.h"

void zy_latch_count_down(zy_latch *latch, uint64_t n) {
  /* Read the waker before the decrement: once the count is zero the root
   * may complete and its memory go away. */
  zyntax_waker waker = latch->waker;
  uint64_t before;
  if (latch->one_thread) { /* relaxed: nothing else writes it meanwhile */
    before = atomic_load_explicit(&latch->remaining, memory_order_relaxed);
    atomic_store_explicit(&latch->remaining, before - n, memory_order_relaxed);
  } else {
    before = atomic_fetch_sub_explicit(&latch->remaining, n, memory_order_acq_rel);
  }
  if (before == n) zyntax_waker_wake(&waker);
}

/* Whether every poll of `rt` runs on the thread driving it (runtime.h:
 * uv, ev and the simulation; Tokio's may run on any worker). */
static int polls_on_one_thread(const zyntax_runtime *rt) {
  const char *name = zyntax_runtime_backend_name(rt);
  return strcmp(name, "uv") == 0 || strcmp(name, "ev") == 0 || strcmp(name, "sim") == 0;
}

void zy_latch_fail(zy_latch *latch) {
  atomic_store_explicit(&latch->failed, 1, memory_order_relaxed);
  zy_latch_count_down(latch, 1);
}

static zyntax_poll root_poll(void *state, const zyntax_waker *waker) {
  zy_root *root = state;
  if (!root->started) {
    root->started = 1;
    atomic_store_explicit(&root->latch.remaining, root->count + 1, memory_order_relaxed);
    root->latch.waker = zyntax_waker_clone(waker);
    uint64_t missing = root->start(root);
    root->failed = missing != 0;
    /* The +1 kept the count above zero while starting. */
    zy_latch_count_down(&root->latch, missing + 1);
  }
  if (atomic_load_explicit(&root->latch.remaining, memory_order_acquire) != 0)
    return ZYNTAX_PENDING;
  return ZYNTAX_READY;
}

int zy_run_root(zyntax_runtime *rt, uint64_t count, zy_start_fn start, void *ctx,
                zb_sample *out) {
  zy_root root;
  memset(&root, 0, sizeof root);
  root.rt = rt;
  root.count = count;
  root.start = start;
  root.ctx = ctx;
  root.latch.one_thread = polls_on_one_thread(rt);
  zb_begin(out);
  zyntax_task *task = zyntax_runtime_spawn(rt, &root, root_poll);
  if (task == NULL) return zb_fail(zyntax_last_error()->message);
  int rc = zyntax_runtime_block_on(rt, task);
  zb_end(out);
  zyntax_task_drop(task);
  if (rc != 0) return zb_fail(zyntax_strerror(rc));
  if (root.failed || atomic_load(&root.latch.failed))
    return zb_fail("a task could not be spawned or ran out of memory");
  return 0;
}

/* The workloads' states are a few words: copied a word at a time, inline,
 * as a compiler's own initialiser would write them (a call to memcpy costs
 * more than the copy). */
static int copy_init(void *state, void *arg) {
  const void *const *src = arg;
  size_t size = (size_t)(uintptr_t)src[1];
  if (size % 8 != 0 || size > 64) {
    memcpy(state, src[0], size);
    return 0;
  }
  for (size_t at = 0; at < size; at += 8)
    memcpy((char *)state + at, (const char *)src[0] + at, 8);
  return 0;
}

int zy_spawn_detached(zyntax_runtime *rt, const zyntax_future_vtable *vt,
                      const void *init, size_t size) {
  const void *arg[2] = {init, (const void *)(uintptr_t)size};
  return zyntax_runtime_spawn_detached(rt, vt, size, _Alignof(max_align_t), copy_init, arg) != 0
             ? -1
             : 0;
}
