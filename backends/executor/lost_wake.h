/* The lost wake, named instead of silent: a poll that returned PENDING
 * while its task holds no waker clone and has no wake queued can never be
 * polled again (only a cancel or the runtime's destroy end it), so a
 * block_on on it would wait forever at 0% CPU without a word. run_task
 * asks zx_state_may_be_woken() (task_state.h) of the word its idle
 * transition left, after every PENDING poll that left the task idle, and
 * calls zx_lost_wake_report() only in the rare case. */
#ifndef ZYNTAX_COMMON_LOST_WAKE_H
#define ZYNTAX_COMMON_LOST_WAKE_H

#include "task.h"

/* Logs (ZYNTAX_LOG=1) the lost wake of `t`, naming its poll function;
 * each poll function once per process. Driving thread. */
void zx_lost_wake_report(zx_exec *ex, zx_task *t);

/* The same for any backend's task record `task` (block_on_future's root
 * if `root`) whose poll function is `poll`: the Tokio backend calls it
 * from Rust after its own check. Any thread. */
void zx_lost_wake_log(zyntax_poll_fn poll, int root, const void *task);

#endif /* ZYNTAX_COMMON_LOST_WAKE_H */
