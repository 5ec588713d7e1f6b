/* libzyntax internals shared by src/core and src/plugin. src/sync and
 * src/future never include it (their include path does not hold it); what
 * they need is in src/sync/shared.h. Not installed. */
#ifndef ZYNTAX_LOADER_INTERNAL_H
#define ZYNTAX_LOADER_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "shared.h" /* zx_fail: the part src/sync and src/future see too */
#include "zyntax/backend.h"

/* The public runtime handle: a backend and its runtime object. */
struct zyntax_runtime {
  const zyntax_backend *backend;
  zyntax_backend_runtime *impl;
  zyntax_backend_host host;
  atomic_int driving; /* 1 while a thread is inside block_on / run */
  atomic_int closing; /* set once destroy starts: new work gets ECLOSED */
  unsigned fork_generation; /* zx_fork_generation() when created */
  zyntax_runtime *live_prev, *live_next; /* fork.c's list of live runtimes */
  char *stats_file; /* ZYNTAX_STATS as at create (owned), NULL: unset */
  /* The open fd watches by the caller's fd number (fdwatch.c): one per
   * number, a later open displaces an earlier one. Under watch_lock. */
  pthread_mutex_t watch_lock;
  zyntax_fd_watch **watches;
  size_t nwatches;
  /* Destroys taken out of `watches` whose close is still under way outside
   * watch_lock: raised under it, lowered without it (fdwatch.c). */
  atomic_size_t watch_closes;
};

/* ---- future.c: the clock ---- */

/* A runtime of `be` was created: if the backend has a clock of its own
 * (a simulation's), zyntax_now() reads it from now on. */
void zx_clock_install(const zyntax_backend *be);

/* ---- fdwatch.c: fd watches ---- */

/* Destroy, before the backend's: closes every watch still open (its waits
 * complete with ZYNTAX_ECLOSED, its descriptor is closed); their handles
 * stay valid until zyntax_fd_watch_destroy frees them. Then frees the table
 * and waits for the closes that tasks' destroys have under way. */
void zx_fd_watch_close_all(zyntax_runtime *rt);

/* The loader's own watches over fd_wait, for a backend without the ABI
 * 2.2 entries (fdwatch_fallback.c); the same contract as those entries. */
int zx_fd_watch_fallback_open(zyntax_runtime *rt, int fd,
                              zyntax_backend_fd_watch **out);
int zx_fd_watch_fallback_wait(zyntax_backend_fd_watch *w, unsigned events,
                              zyntax_future **out);
void zx_fd_watch_fallback_close(zyntax_backend_fd_watch *w, int reason);

/* ---- fork.c: runtimes do not survive fork() ---- */

/* Counts fork()s into this process's ancestry (a pthread_atfork child
 * handler); a runtime created under another generation is the parent's.
 * zx_fork_watch() installs the handlers (idempotent); call it before
 * taking zx_load_lock() or creating a runtime. */
extern atomic_uint zx_fork_generation_count; /* fork.c; read it as below */
static inline unsigned zx_fork_generation(void) {
  return atomic_load_explicit(&zx_fork_generation_count, memory_order_relaxed);
}
void zx_fork_watch(void);

/* Nonzero when `rt` takes new work: created in this process's generation
 * and not being destroyed - zx_check_open()'s answer without a call, for
 * the spawn path; zx_check_open() records why not. */
static inline int zx_runtime_open(const zyntax_runtime *rt) {
  return rt->fork_generation == zx_fork_generation() &&
         !atomic_load_explicit(&rt->closing, memory_order_acquire);
}

/* ZYNTAX_EFORKED (recorded) if `rt` was created before a fork() of this
 * process, else 0. */
int zx_check_forked(const zyntax_runtime *rt, const char *func);

/* zx_check_open (every constructor's first check): shared.h. */

/* ZYNTAX_EFORKED (recorded) if `task` belongs to a runtime this process
 * inherited through fork(), else 0. Free until the process forks; then
 * a walk of the live runtimes under a lock. */
int zx_task_check_forked_slow(const zyntax_task *task, const char *func);
static inline int zx_task_check_forked(const zyntax_task *task, const char *func) {
  if (zx_fork_generation() == 0) return 0; /* this process never forked */
  return zx_task_check_forked_slow(task, func);
}

/* The live-runtime list (for zx_task_check_forked). */
void zx_runtime_track(zyntax_runtime *rt);
void zx_runtime_untrack(zyntax_runtime *rt);

/* The plugin loader's lock. fork()'s prepare handler takes it, so a child
 * never inherits a plugin half loaded by another thread (dlopen's
 * relocations, the registry). */
void zx_load_lock(void);
void zx_load_unlock(void);

/* ---- error.c: thread-local last error (zx_fail, zx_fail_code: shared.h) ---- */

/* Writes to stderr only when ZYNTAX_LOG=1. */
void zx_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- plugin/resolve.c: backend resolution ---- */

typedef struct zx_choice {
  const zyntax_backend *backend;
  char path[4096];  /* the plugin file; "" for a linked-in backend */
  char reason[256]; /* why this request: options, environment, default */
} zx_choice;

/* Resolves `request` (a name, an absolute plugin path, or NULL for
 * $ZYNTAX_RUNTIME then the default) to a validated backend table. */
int zx_backend_resolve(const char *request, zx_choice *out, zyntax_error *err);

/* ---- runtime.c: the driving rule (one driver, no re-entry) ---- */

/* Marks the calling thread as driving `rt`: 0, or ZYNTAX_EINVAL /
 * EFORKED / EREENTRANT / EBUSY (recorded under `func`). zx_drive_end()
 * undoes it. */
int zx_drive_begin(zyntax_runtime *rt, const char *func);
void zx_drive_end(zyntax_runtime *rt);

/* ---- thread.c: the runtime driving the calling thread ---- */

zyntax_runtime *zx_thread_current(void);
void zx_thread_set_current(zyntax_runtime *rt);

/* ---- env.c ---- */

/* secure_getenv(): NULL in secure-execution mode (setuid etc.). */
const char *zx_getenv(const char *name);

/* ZYNTAX_STATS: where destroy appends the stats line ("-": stderr), or
 * NULL when unset or empty. */
const char *zx_env_stats_file(void);

/* ZYNTAX_SLOW_POLL_US in nanoseconds into *ns (0: unset or empty).
 * Returns 0, or ZYNTAX_EINVAL (recorded) for a value that is not a
 * number of microseconds from 1 to an hour. */
int zx_env_slow_poll_ns(uint64_t *ns);

/* ---- pollwatch.c: poll timing asked of the backend ---- */

/* Reads the two variables above into rt->host (time_polls, slow_poll_ns,
 * slow_poll) and rt->stats_file. Returns 0, ZYNTAX_EINVAL or
 * ZYNTAX_ENOMEM (recorded). Before the backend's runtime_create. */
int zx_pollwatch_setup(zyntax_runtime *rt);

/* ---- stats_export.c: the ZYNTAX_STATS line ---- */

/* With rt->stats_file set, appends the runtime's counters as one JSON
 * line (one write(2), O_APPEND); then frees rt->stats_file. Called once,
 * as destroy starts, while the backend runtime still exists. A failed
 * write is logged (ZYNTAX_LOG=1), never reported to the caller. */
void zx_stats_export(zyntax_runtime *rt);

#endif /* ZYNTAX_LOADER_INTERNAL_H */
