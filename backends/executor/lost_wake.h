/* The lost wake, named instead of silent: a poll that returned PENDING
 * while its task holds no waker clone and has no wake queued can never be
 * polled again (only a cancel or the runtime's destroy end it), so a
 * block_on on it would wait forever at 0% CPU without a word. The drive
 * loop calls zx_lost_wake_check() after every PENDING poll that left the
 * task idle; it costs one load and a compare, and reports (ZYNTAX_LOG=1)
 * only in the rare case. */
#ifndef ZYNTAX_COMMON_LOST_WAKE_H
#define ZYNTAX_COMMON_LOST_WAKE_H

#include "task.h"

/* Logs the lost wake of `t`, naming its poll function. Driving thread. */
void zx_lost_wake_report(zx_exec *ex, zx_task *t);

/* `state` is the task's state just published by the PENDING poll (not
 * scheduled). A task's references are: the owned list's (or the root
 * cell's), the handle's while ZX_HANDLE, the join future's while
 * ZX_JOINED, and one per waker clone: none beyond those means no clone. */
static inline void zx_lost_wake_check(zx_exec *ex, zx_task *t, uint32_t state) {
  uint32_t known = 1u + ((state & ZX_HANDLE) ? 1u : 0u) + ((state & ZX_JOINED) ? 1u : 0u);
  if (atomic_load_explicit(&t->refs, memory_order_acquire) > known) return;
  zx_lost_wake_report(ex, t);
}

#endif /* ZYNTAX_COMMON_LOST_WAKE_H */
