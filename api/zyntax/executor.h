/** @file
 * Zyntax Runtime - the C executor for backend authors (optional).
 *
 * The executor the uv and ev backends share, installed as a static library
 * (libzyntax-executor.a; pkg-config `zyntax-executor`, CMake
 * `Zyntax::executor`). It implements every part of <zyntax/backend.h> that
 * does not depend on the event loop: task records and their handle ops,
 * wakers, the run queue and the cross-thread inbox, join futures,
 * block_on / block_on_future / run, the stats, sleeps (a timing wheel over
 * one loop timer) and blocking work (a thread pool). A C event loop then
 * writes only:
 *   - five loop ops (zyntax_executor_loop_ops, below);
 *   - runtime_create / runtime_destroy around zyntax_executor_create /
 *     _shutdown / _unref;
 *   - its fd-wait future (fd_wait), with the leaf helpers below.
 * docs/backend-guide.md walks through it; examples/backend-template is a
 * complete backend on poll(2).
 *
 * Linking: the library is linked into the plugin, so each plugin carries
 * its own copy (no shared state, no symbol exported: its functions have
 * hidden visibility). The plugin must not link libzyntax.
 *
 * Stability: this is a source interface, versioned with libzyntax's
 * minor version (ZYNTAX_VERSION_*), not with the backend ABI: a plugin
 * compiled against it stays a valid ABI 2.x plugin forever, but rebuilding
 * it against a later libzyntax minor may need source changes (the
 * CHANGELOG says which).
 *
 * Threads: one thread at a time drives the executor (the loader enforces
 * it); polls, drops of cancelled tasks and every loop op except `signal`
 * run on that thread.
 */
#ifndef ZYNTAX_EXECUTOR_H
#define ZYNTAX_EXECUTOR_H

#include <stddef.h>
#include <stdint.h>

#include "zyntax/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The executor of one backend runtime. Opaque. It IS the backend runtime
 * the loader sees: zyntax_executor_runtime() / _from() convert. */
typedef struct zyntax_executor zyntax_executor;

/** What the event loop supplies. `loop` is the pointer given to
 * zyntax_executor_create. */
typedef struct zyntax_executor_loop_ops {
  size_t size; /**< sizeof(zyntax_executor_loop_ops) */
  /** Makes a run_once blocked in the loop's wait return soon (write an
   * eventfd or a pipe the loop watches). Any thread, with an executor lock
   * held: do no more than that. Never called after shutdown started. */
  void (*signal)(void *loop);
  /** One loop iteration on the driving thread: wait for an event (fd
   * readiness, the timer, a signal) when `block` is nonzero, else only
   * handle what is ready now; then run the callbacks (complete fd waits,
   * call zyntax_executor_timer_fired when the timer is due) and return. */
  void (*run_once)(void *loop, int block);
  /** Called from inside run_once, by a callback that queued a task: this
   * iteration must not block any more (a loop that runs callbacks only
   * after its wait may ignore it). Driving thread. */
  void (*interrupt)(void *loop);
  /** (Re)arms the loop's one timer to fire in `ms` milliseconds or later,
   * measured from now; when it fires, run_once calls
   * zyntax_executor_timer_fired. Driving thread. */
  void (*timer_arm)(void *loop, uint64_t ms);
  /** Frees `loop`: called once, when the executor's last memory is given
   * back (after zyntax_executor_unref, maybe later: a leaf future dropped
   * after destroy). Any thread. */
  void (*free)(void *loop);
} zyntax_executor_loop_ops;

/** Creates the executor for runtime_create. `ops` and `host` must outlive
 * it; `opts->blocking_threads` sizes the blocking pool (0: 4 threads).
 * Returns 0 with *out set - from then on the executor owns `loop` and
 * frees it through ops->free -, or ZYNTAX_EINVAL (NULL argument, `ops`
 * too small or with a NULL op), ZYNTAX_ENOMEM: then `loop` stays the
 * caller's. Any thread. */
int zyntax_executor_create(const zyntax_backend_host *host,
                           const zyntax_runtime_options *opts,
                           const zyntax_executor_loop_ops *ops, void *loop,
                           zyntax_executor **out);

/** The backend runtime to return from runtime_create, and back. */
zyntax_backend_runtime *zyntax_executor_runtime(zyntax_executor *ex);
zyntax_executor *zyntax_executor_from(zyntax_backend_runtime *rt);
/** The `loop` pointer given to create. */
void *zyntax_executor_loop(zyntax_executor *ex);

/** Destroy, step one (runtime_destroy calls it first): refuses new work,
 * cancels every unfinished task and drops every state exactly once, then
 * waits for blocking jobs already running and joins the pool. Afterwards
 * the backend detaches its armed fd waits (they complete with
 * ZYNTAX_ECLOSED), closes its loop's fds and calls
 * zyntax_executor_unref. The thread runtime_destroy runs on. */
void zyntax_executor_shutdown(zyntax_executor *ex);

/** Destroy, last step: the backend lets go. ops->free(loop) runs now, or
 * when the last leaf future or task handle still out gives its memory
 * back, on that thread. */
void zyntax_executor_unref(zyntax_executor *ex);

/** The timer armed by ops->timer_arm is due: called by run_once, on the
 * driving thread. Wakes the sleeps that are due and re-arms the timer. */
void zyntax_executor_timer_fired(zyntax_executor *ex);

/* ---- leaf futures of the backend's own (its fd waits) ---- */

/** Zeroed memory for a leaf future of `size` bytes from the executor's
 * arena, so it may outlive the runtime (its drop after destroy then only
 * gives the memory back). NULL: out of memory. Any thread. */
void *zyntax_executor_leaf_alloc(zyntax_executor *ex, size_t size,
                                 size_t align);
/** Gives it back; `size` and `align` as allocated. Any thread; maybe the
 * executor's last memory (then ops->free runs). */
void zyntax_executor_leaf_free(zyntax_executor *ex, void *p, size_t size,
                               size_t align);

/** The first thing a leaf's poll does: returns nonzero after completing
 * `f` with ZYNTAX_ECLOSED (destroy began) or ZYNTAX_EFOREIGN (polled
 * outside this runtime's tasks); then the poll returns ZYNTAX_READY. */
int zyntax_executor_leaf_refuse(zyntax_executor *ex, zyntax_future *f);

/** Counts one fd wait started, for zyntax_stats.io_waits. Driving thread. */
void zyntax_executor_count_io_wait(zyntax_executor *ex);

/* ---- the backend entries it implements ---- */

int zyntax_executor_spawn(zyntax_backend_runtime *rt,
                          const zyntax_spawn_args *args, zyntax_task **out);
int zyntax_executor_spawn_detached(zyntax_backend_runtime *rt,
                                   const zyntax_spawn_args *args);
int zyntax_executor_block_on(zyntax_backend_runtime *rt, zyntax_task *task);
int zyntax_executor_block_on_future(zyntax_backend_runtime *rt, void *state,
                                    zyntax_poll_fn poll);
int zyntax_executor_run(zyntax_backend_runtime *rt);
void zyntax_executor_stats(const zyntax_backend_runtime *rt, zyntax_stats *out);
int zyntax_executor_sleep_until(zyntax_backend_runtime *rt,
                                uint64_t deadline_ns, zyntax_future **out);
int zyntax_executor_blocking(zyntax_backend_runtime *rt, zyntax_blocking_fn fn,
                             void *arg, zyntax_future **out);

/** The op tables of its tasks and futures. */
extern const zyntax_task_ops zyntax_executor_task_ops;
extern const zyntax_future_ops zyntax_executor_join_ops,
    zyntax_executor_sleep_ops, zyntax_executor_job_ops;

/** The executor's entries of the future_ops list; the backend appends its
 * own tables and NULL:
 *   static const zyntax_future_ops *const ops[] = {
 *       ZYNTAX_EXECUTOR_FUTURE_OPS, &my_fdwait_ops, NULL}; */
#define ZYNTAX_EXECUTOR_FUTURE_OPS \
  &zyntax_executor_join_ops, &zyntax_executor_sleep_ops, &zyntax_executor_job_ops

/** The entries of ZYNTAX_BACKEND_DEFINE it fills: everything but
 * future_ops, runtime_create, runtime_destroy, fd_wait and the optional
 * host-loop entries (the executor offers those to loops with a pollable
 * fd only in-tree, for now). */
#define ZYNTAX_EXECUTOR_ENTRIES                                             \
  .task_ops = &zyntax_executor_task_ops, .spawn = zyntax_executor_spawn,    \
  .spawn_detached = zyntax_executor_spawn_detached,                         \
  .block_on = zyntax_executor_block_on,                                     \
  .block_on_future = zyntax_executor_block_on_future,                       \
  .run = zyntax_executor_run, .stats = zyntax_executor_stats,               \
  .sleep_until = zyntax_executor_sleep_until,                               \
  .blocking = zyntax_executor_blocking

#ifdef __cplusplus
}
#endif

#endif /* ZYNTAX_EXECUTOR_H */
