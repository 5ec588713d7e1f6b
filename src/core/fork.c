/* fork(): a child inherits a copy of every runtime but none of its threads,
 * and shares the parent's epoll/eventfd descriptors, so driving, spawning
 * onto or destroying an inherited runtime would corrupt the parent's. Each
 * such call fails with ZYNTAX_EFORKED instead; the child creates its own
 * runtime. A pthread_atfork() child handler counts forks, so the check is
 * one load on every path, no syscall.
 *
 * The prepare handler also takes the loader's lock and the live-runtime
 * list's lock (glibc's fork does the same for its own loader lock). The
 * loader's lock is held across plugin loading and the backend's
 * runtime_create: a thread inside zyntax_runtime_create, half way through
 * dlopen()ing a plugin or through a backend's own one-time setup (Tokio
 * starting its threads), finishes that first, so the child never inherits
 * a half-loaded plugin or a lock held by a thread it does not have. */
#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"

atomic_uint zx_fork_generation_count;
static pthread_once_t watch_once = PTHREAD_ONCE_INIT;
/* A plain mutex (the child's unlock must not check the owner: the forking
 * thread has another id there), made re-entrant per thread by a depth
 * count: a create holds it around the plugin load it may do. */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local int load_depth;
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static zyntax_runtime *live; /* runtimes not yet destroyed, this process */

static void on_fork_prepare(void) {
  pthread_mutex_lock(&load_lock);
  pthread_mutex_lock(&live_lock);
}

static void on_fork_parent(void) {
  pthread_mutex_unlock(&live_lock);
  pthread_mutex_unlock(&load_lock);
}

static void on_fork_child(void) {
  atomic_fetch_add(&zx_fork_generation_count, 1);
  pthread_mutex_unlock(&live_lock);
  pthread_mutex_unlock(&load_lock);
}

static void install(void) {
  pthread_atfork(on_fork_prepare, on_fork_parent, on_fork_child);
}

void zx_fork_watch(void) { pthread_once(&watch_once, install); }

void zx_load_lock(void) {
  if (load_depth++ == 0) pthread_mutex_lock(&load_lock);
}

void zx_load_unlock(void) {
  if (--load_depth == 0) pthread_mutex_unlock(&load_lock);
}

int zx_check_forked(const zyntax_runtime *rt, const char *func) {
  if (rt->fork_generation == zx_fork_generation()) return 0;
  return zx_fail(NULL, ZYNTAX_EFORKED,
                 "%s: this runtime was created before fork(); create a new one "
                 "in the child", func);
}

int zx_check_open(const zyntax_runtime *rt, const char *func) {
  if (zx_runtime_open(rt)) return 0;
  if (zx_check_forked(rt, func) != 0) return ZYNTAX_EFORKED;
  if (atomic_load_explicit(&rt->closing, memory_order_acquire))
    return zx_fail(NULL, ZYNTAX_ECLOSED, "%s: the runtime is being destroyed",
                   func);
  return 0;
}

/* ---- tasks of inherited runtimes ---- */

void zx_runtime_track(zyntax_runtime *rt) {
  pthread_mutex_lock(&live_lock);
  rt->live_prev = NULL;
  rt->live_next = live;
  if (live != NULL) live->live_prev = rt;
  live = rt;
  pthread_mutex_unlock(&live_lock);
}

void zx_runtime_untrack(zyntax_runtime *rt) {
  pthread_mutex_lock(&live_lock);
  if (rt->live_prev != NULL)
    rt->live_prev->live_next = rt->live_next;
  else
    live = rt->live_next;
  if (rt->live_next != NULL) rt->live_next->live_prev = rt->live_prev;
  pthread_mutex_unlock(&live_lock);
}

/* A task handle does not say when it was made, and its runtime may be gone
 * (handles outlive runtimes), so the owner is looked up, never
 * dereferenced blindly: an inherited runtime is never destroyed in the
 * child (EFORKED), so its address cannot be reused there. A task whose
 * runtime was destroyed before the fork is finished: reading it is fine. */
int zx_task_check_forked_slow(const zyntax_task *task, const char *func) {
  unsigned gen = zx_fork_generation();
  int inherited = 0;
  pthread_mutex_lock(&live_lock);
  for (const zyntax_runtime *rt = live; rt != NULL; rt = rt->live_next)
    if (rt == task->owner) inherited = rt->fork_generation != gen;
  pthread_mutex_unlock(&live_lock);
  if (!inherited) return 0;
  return zx_fail(NULL, ZYNTAX_EFORKED,
                 "%s: the task belongs to a runtime created before fork()",
                 func);
}
