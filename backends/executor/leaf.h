/* What every leaf future of the C backends (sleep, fd wait, blocking) does
 * to outlive its runtime safely.
 *
 * A leaf future may be dropped, or polled, after zyntax_runtime_destroy
 * (api/zyntax/runtime.h promises it). So each one holds a reference on the
 * executor - the backend runtime's memory stays until the last leaf is
 * gone - and the backend's destroy detaches the leaves still armed: it
 * stops or closes their loop handles while the loop exists and marks them,
 * so a later drop only frees memory and touches no loop. A poll after
 * destroy completes with ZYNTAX_ECLOSED. */
#ifndef ZYNTAX_COMMON_LEAF_H
#define ZYNTAX_COMMON_LEAF_H

#include "executor.h"

/* A new leaf future's reference on `ex` (any thread). */
static inline void zx_leaf_hold(zx_exec *ex) {
  atomic_fetch_add_explicit(&ex->refs, 1, memory_order_relaxed);
}

/* The first thing a leaf's poll does: a runtime destroyed (or being
 * destroyed) completes it with ZYNTAX_ECLOSED; a poll from outside this
 * runtime's tasks with ZYNTAX_EFOREIGN. Returns nonzero when it did. */
static inline int zx_leaf_refuse(zyntax_future *f, const zx_exec *ex) {
  if (atomic_load_explicit(&((zx_exec *)ex)->closed, memory_order_acquire)) {
    f->result = ZYNTAX_ECLOSED;
    return 1;
  }
  return zx_future_refuse_foreign(f, ex);
}

#endif /* ZYNTAX_COMMON_LEAF_H */
