/* Public runtime entry points: create, destroy, spawn, drive, stats.
 * Arguments are checked here so every backend sees only valid requests. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sized.h"

#define ZX_MAX_WORKERS 4096u
#define ZX_MAX_ALIGN 4096u
#define ZX_KNOWN_FLAGS ZYNTAX_RUNTIME_SINGLE_THREADED

static void enter_thread(zyntax_runtime *rt) { zx_thread_set_current(rt); }
static void leave_thread(void) { zx_thread_set_current(NULL); }

static int workers_from_env(uint32_t *out) {
  const char *s = zx_getenv("ZYNTAX_WORKER_THREADS");
  if (s == NULL || *s == '\0') return 0;
  char *end;
  unsigned long n = strtoul(s, &end, 10);
  if (*end != '\0' || n == 0 || n > ZX_MAX_WORKERS)
    return zx_fail(NULL, ZYNTAX_EINVAL,
                   "ZYNTAX_WORKER_THREADS='%.32s' is not a number from 1 to %u",
                   s, ZX_MAX_WORKERS);
  *out = (uint32_t)n;
  return 0;
}

static int normalise_options(const zyntax_runtime_options *in,
                             zyntax_runtime_options *out) {
  zyntax_runtime_options o = ZYNTAX_RUNTIME_OPTIONS_INIT;
  if (in != NULL) {
    if (zx_sized_copy(&o, in, ZX_RUNTIME_OPTIONS_SIZE_1_0) != 0)
      return zx_fail(NULL, ZYNTAX_EINVAL,
                     "zyntax_runtime_options.size is %zu; at least %zu needed "
                     "(set it to sizeof(zyntax_runtime_options))",
                     in->size, (size_t)ZX_RUNTIME_OPTIONS_SIZE_1_0);
  }
  if (o.flags & ~ZX_KNOWN_FLAGS)
    return zx_fail(NULL, ZYNTAX_EINVAL, "unknown runtime flags 0x%x",
                   o.flags & ~ZX_KNOWN_FLAGS);
  if (o.worker_threads > ZX_MAX_WORKERS)
    return zx_fail(NULL, ZYNTAX_EINVAL, "worker_threads %u exceeds %u",
                   o.worker_threads, ZX_MAX_WORKERS);
  if (o.worker_threads == 0) {
    int rc = workers_from_env(&o.worker_threads);
    if (rc != 0) return rc;
  }
  *out = o;
  return 0;
}

/* Every failure is recorded (zx_fail with no error struct): the thread's
 * last error holds its code and message. */
static zyntax_runtime *create_locked(const zyntax_runtime_options *opts) {
  zyntax_runtime_options o;
  zx_choice choice;
  if (normalise_options(opts, &o) != 0) return NULL;
  if (zx_backend_resolve(o.backend, &choice, NULL) != 0) return NULL;
  const zyntax_backend *be = choice.backend;

  zyntax_runtime *rt = calloc(1, sizeof *rt);
  if (rt == NULL) {
    zx_fail(NULL, ZYNTAX_ENOMEM, "out of memory creating a '%s' runtime", be->name);
    return NULL;
  }
  rt->fork_generation = zx_fork_generation();
  rt->backend = be;
  rt->host = (zyntax_backend_host){.size = sizeof rt->host,
                                   .runtime = rt,
                                   .enter_thread = enter_thread,
                                   .leave_thread = leave_thread};
  atomic_init(&rt->driving, 0);
  atomic_init(&rt->closing, 0);
  if (zx_pollwatch_setup(rt) != 0) {
    free(rt);
    return NULL;
  }
  pthread_mutex_init(&rt->watch_lock, NULL);
  atomic_init(&rt->watch_closes, 0);

  zyntax_error backend_err = {0, ""};
  int rc = be->runtime_create(&rt->host, &o, &rt->impl, &backend_err);
  if (rc != 0) {
    zx_fail(NULL, rc, "backend '%s' (%s) failed to start: %s", be->name,
            be->version,
            backend_err.message[0] ? backend_err.message : zyntax_strerror(rc));
    free(rt->stats_file);
    pthread_mutex_destroy(&rt->watch_lock);
    free(rt);
    return NULL;
  }
  zx_runtime_track(rt);
  zx_clock_install(be);
  zx_log("runtime %p on backend '%s' (%s)", (void *)rt, be->name, be->version);
  return rt;
}

/* Under the loader's lock: fork() waits for a create under way (fork.c).
 * Every failure of create_locked is recorded, so the thread's last error
 * holds its code. */
int zyntax_runtime_create_with(const zyntax_runtime_options *opts,
                               zyntax_runtime **out) {
  if (out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  zx_fork_watch();
  zx_load_lock();
  *out = create_locked(opts);
  zx_load_unlock();
  return *out != NULL ? 0 : zyntax_last_error()->code;
}

zyntax_runtime *zyntax_runtime_create(void) {
  zyntax_runtime *rt;
  zyntax_runtime_create_with(NULL, &rt);
  return rt;
}

int zyntax_runtime_destroy(zyntax_runtime *rt) {
  if (rt == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  if (zx_check_forked(rt, __func__) != 0) return ZYNTAX_EFORKED;
  if (zx_thread_current() == rt)
    return zx_fail(NULL, ZYNTAX_EBUSY,
                   "zyntax_runtime_destroy: called from inside the runtime's "
                   "own poll function or worker");
  int idle = 0;
  if (!atomic_compare_exchange_strong(&rt->driving, &idle, 1))
    return zx_fail(NULL, ZYNTAX_EBUSY,
                   "zyntax_runtime_destroy: another thread is inside "
                   "block_on/run of this runtime");
  /* From here on, drop functions and blocking jobs that run inside the
   * backend's destroy get ECLOSED for any new work on `rt`. */
  atomic_store_explicit(&rt->closing, 1, memory_order_release);
  zx_stats_export(rt); /* while the backend runtime still counts */
  zx_fd_watch_close_all(rt); /* the backend's entries need its runtime */
  rt->backend->runtime_destroy(rt->impl);
  zx_runtime_untrack(rt);
  pthread_mutex_destroy(&rt->watch_lock);
  free(rt);
  return 0;
}

/* "" rather than NULL for a NULL handle, so a caller that prints the name
 * cannot crash; the failure is recorded like every other NULL handle's. */
const char *zyntax_runtime_backend_name(const zyntax_runtime *rt) {
  if (rt == NULL) {
    zx_fail_code(__func__, ZYNTAX_EINVAL);
    return "";
  }
  return rt->backend->name;
}

const char *zyntax_runtime_backend_version(const zyntax_runtime *rt) {
  if (rt == NULL) {
    zx_fail_code(__func__, ZYNTAX_EINVAL);
    return "";
  }
  return rt->backend->version;
}

/* ---- spawning ---- */

/* The checks of every spawn before the backend's: 0, or the error code
 * (recorded). Inlined into each public spawn (one call less per spawn). */
static inline __attribute__((always_inline)) int
spawn_refused(zyntax_runtime *rt, const zyntax_spawn_args *args, const char *func) {
  if (rt == NULL || args->poll == NULL) return zx_fail_code(func, ZYNTAX_EINVAL);
  return zx_runtime_open(rt) ? 0 : zx_check_open(rt, func);
}

static inline __attribute__((always_inline)) zyntax_task *
spawn(zyntax_runtime *rt, const zyntax_spawn_args *args, const char *func) {
  if (spawn_refused(rt, args, func) != 0) return NULL;
  zyntax_task *task = NULL;
  int rc = rt->backend->spawn(rt->impl, args, &task);
  if (rc != 0) {
    zx_fail_code(func, rc);
    return NULL;
  }
  return task;
}

zyntax_task *zyntax_runtime_spawn(zyntax_runtime *rt, void *state,
                                  zyntax_poll_fn poll) {
  zyntax_spawn_args a = {.size = sizeof a, .poll = poll, .state = state};
  return spawn(rt, &a, __func__);
}

/* The out-parameter spawns (`*out` NULL already): the backend writes the
 * task into `*out` itself (no copy and no second look), else `*out` stays
 * NULL and the failure is recorded. */
static inline __attribute__((always_inline)) int
spawned(zyntax_runtime *rt, const zyntax_spawn_args *args, zyntax_task **out,
        const char *func) {
  int rc = spawn_refused(rt, args, func);
  if (rc != 0) return rc;
  rc = rt->backend->spawn(rt->impl, args, out);
  if (__builtin_expect(rc != 0, 0)) {
    *out = NULL;
    return zx_fail_code(func, rc);
  }
  return 0;
}

int zyntax_runtime_spawn_future(zyntax_runtime *rt, void *state,
                                const zyntax_future_vtable *vtable,
                                zyntax_task **out) {
  if (out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  *out = NULL;
  if (vtable == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  zyntax_spawn_args a = {
      .size = sizeof a, .poll = vtable->poll, .drop = vtable->drop, .state = state};
  return spawned(rt, &a, out, __func__);
}

/* The in-place spawns' arguments; nonzero when they are invalid. */
static inline __attribute__((always_inline)) int
inplace_args(zyntax_spawn_args *a, const zyntax_future_vtable *vtable,
             size_t state_size, size_t state_align, zyntax_state_init_fn init,
             void *arg) {
  int bad_align = state_align == 0 || (state_align & (state_align - 1)) != 0 ||
                  state_align > ZX_MAX_ALIGN;
  if (vtable == NULL || state_size == 0 || bad_align || state_size > SIZE_MAX / 2)
    return 1;
  *a = (zyntax_spawn_args){.size = sizeof *a,
                           .poll = vtable->poll,
                           .drop = vtable->drop,
                           .inplace_size = state_size,
                           .inplace_align = state_align,
                           .init = init,
                           .init_arg = arg};
  return 0;
}

int zyntax_runtime_spawn_inplace(zyntax_runtime *rt,
                                 const zyntax_future_vtable *vtable,
                                 size_t state_size, size_t state_align,
                                 zyntax_state_init_fn init, void *arg,
                                 zyntax_task **out) {
  if (out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  *out = NULL;
  zyntax_spawn_args a;
  if (inplace_args(&a, vtable, state_size, state_align, init, arg) != 0)
    return zx_fail_code(__func__, ZYNTAX_EINVAL);
  return spawned(rt, &a, out, __func__);
}

/* A backend without the detached spawn (before ABI 2.4, or NULL): its
 * spawn, and the handle released at once. */
static int spawn_then_release(zyntax_runtime *rt, const zyntax_spawn_args *args) {
  zyntax_task *task = NULL;
  int rc = rt->backend->spawn(rt->impl, args, &task);
  if (rc == 0) task->ops->release(task);
  return rc;
}

int zyntax_runtime_spawn_detached(zyntax_runtime *rt,
                                  const zyntax_future_vtable *vtable,
                                  size_t state_size, size_t state_align,
                                  zyntax_state_init_fn init, void *arg) {
  zyntax_spawn_args a;
  if (inplace_args(&a, vtable, state_size, state_align, init, arg) != 0)
    return zx_fail_code(__func__, ZYNTAX_EINVAL);
  int rc = spawn_refused(rt, &a, __func__);
  if (rc != 0) return rc;
  rc = ZYNTAX_BACKEND_HAS(rt->backend, spawn_detached)
               ? rt->backend->spawn_detached(rt->impl, &a)
               : spawn_then_release(rt, &a);
  return __builtin_expect(rc != 0, 0) ? zx_fail_code(__func__, rc) : 0;
}

/* ---- driving ---- */

static int begin_drive(zyntax_runtime *rt, const char *func) {
  if (rt == NULL) return zx_fail_code(func, ZYNTAX_EINVAL);
  /* Checked before re-entrancy: a drop function run by destroy gets the
   * same answer whichever thread runs it (the destroying thread on uv, ev
   * and tokio-single, a worker on multi-threaded tokio). */
  int rc = zx_check_open(rt, func);
  if (rc != 0) return rc;
  if (zx_thread_current() != NULL)
    return zx_fail(NULL, ZYNTAX_EREENTRANT,
                   "%s: called from inside a poll function or a runtime "
                   "worker thread", func);
  int idle = 0;
  if (!atomic_compare_exchange_strong(&rt->driving, &idle, 1))
    return zx_fail(NULL, ZYNTAX_EBUSY,
                   "%s: another thread is driving this runtime", func);
  zx_thread_set_current(rt);
  return 0;
}

static void end_drive(zyntax_runtime *rt) {
  zx_thread_set_current(NULL);
  atomic_store(&rt->driving, 0);
}

int zx_drive_begin(zyntax_runtime *rt, const char *func) {
  return begin_drive(rt, func);
}

void zx_drive_end(zyntax_runtime *rt) { end_drive(rt); }

int zyntax_runtime_block_on(zyntax_runtime *rt, zyntax_task *task) {
  if (task == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  if (rt != NULL && task->owner != rt)
    return zx_fail(NULL, ZYNTAX_EFOREIGN,
                   "zyntax_runtime_block_on: the task belongs to another "
                   "runtime");
  int rc = begin_drive(rt, __func__);
  if (rc != 0) return rc;
  rc = rt->backend->block_on(rt->impl, task);
  end_drive(rt);
  return rc;
}

int zyntax_runtime_block_on_future(zyntax_runtime *rt, void *state,
                                   zyntax_poll_fn poll) {
  if (poll == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  int rc = begin_drive(rt, __func__);
  if (rc != 0) return rc;
  rc = rt->backend->block_on_future(rt->impl, state, poll);
  end_drive(rt);
  return rc;
}

int zyntax_runtime_run(zyntax_runtime *rt) {
  int rc = begin_drive(rt, __func__);
  if (rc != 0) return rc;
  rc = rt->backend->run(rt->impl);
  end_drive(rt);
  return rc;
}

/* ---- stats ---- */

int zyntax_runtime_stats(const zyntax_runtime *rt, zyntax_stats *out) {
  if (rt == NULL || out == NULL || out->size < ZX_STATS_SIZE_1_0)
    return zx_fail_code(__func__, ZYNTAX_EINVAL);
  zyntax_stats all;
  memset(&all, 0, sizeof all);
  all.size = sizeof all;
  rt->backend->stats(rt->impl, &all);
  zx_sized_copy(out, &all, ZX_STATS_SIZE_1_0);
  return 0;
}
