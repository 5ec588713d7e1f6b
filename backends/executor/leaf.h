/* What every leaf future of the C backends (sleep, fd wait, blocking) does
 * to outlive its runtime safely.
 *
 * A leaf future may be dropped, or polled, after zyntax_runtime_destroy
 * (api/zyntax/runtime.h promises it). So each one is a block of the
 * executor's arena - the executor (and the backend runtime around it) is
 * freed only when its last block comes back (executor.h, zx_exec_unref) -
 * and the backend's destroy detaches the leaves still armed: it unlinks
 * them from the wheel, stops or closes their loop handles while the loop
 * exists and marks them, so a later drop only gives its block back and
 * touches no loop. A poll after destroy completes with ZYNTAX_ECLOSED. */
#ifndef ZYNTAX_COMMON_LEAF_H
#define ZYNTAX_COMMON_LEAF_H

#include <string.h>

#include "executor.h"

/* A zeroed leaf future of `size` bytes from `ex`'s arena (any thread);
 * `*cls` receives the class to give to zx_leaf_free. NULL: out of memory. */
static inline void *zx_leaf_alloc(zx_exec *ex, size_t size, size_t align,
                                  uint8_t *cls) {
  *cls = zx_arena_class(size, align);
  void *p = zx_exec_alloc(ex, *cls, size, align);
  if (p != NULL) memset(p, 0, size);
  return p;
}

/* Gives a leaf future's block back; maybe the executor's last (after
 * destroy), which frees the runtime. Any thread. */
static inline void zx_leaf_free(zx_exec *ex, void *p, uint8_t cls) {
  zx_exec_free(ex, p, cls);
}

/* The first thing a leaf's poll does: a runtime destroyed (or being
 * destroyed) completes it with ZYNTAX_ECLOSED; a poll from outside this
 * runtime's tasks with ZYNTAX_EFOREIGN. Returns nonzero when it did. */
static inline int zx_leaf_refuse(zyntax_future *f, zx_exec *ex) {
  if (zx_exec_closed(ex)) {
    f->result = ZYNTAX_ECLOSED;
    return 1;
  }
  return zx_future_refuse_foreign(f, ex);
}

/* The poll of a leaf whose work starts at its first poll (an fd wait; ev
 * and sim): refused as above; else READY with `outcome` once it is known
 * (ZYNTAX_NOT_FINISHED before); else the work is started unless `started`
 * - `start(f)` returns 0, or the outcome when it cannot start - and the
 * task's waker is kept in `slot`. */
static inline zyntax_poll zx_leaf_poll_started(zyntax_future *f, zx_exec *ex,
                                               int outcome, int started,
                                               int (*start)(zyntax_future *f),
                                               zyntax_waker *slot,
                                               const zyntax_waker *waker) {
  if (zx_leaf_refuse(f, ex)) return ZYNTAX_READY;
  if (outcome == ZYNTAX_NOT_FINISHED && !started) {
    int rc = start(f);
    if (rc != 0) outcome = rc;
  }
  if (outcome != ZYNTAX_NOT_FINISHED) {
    f->result = outcome;
    return ZYNTAX_READY;
  }
  zyntax_waker_store(slot, waker);
  return ZYNTAX_PENDING;
}

#endif /* ZYNTAX_COMMON_LEAF_H */
