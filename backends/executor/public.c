/* The installed interface of the executor (<zyntax/executor.h>): the
 * executor and a blocking pool behind one opaque object, and the loop ops
 * of an out-of-tree event loop adapted to zx_loop_ops. Everything here
 * forwards; the logic is the executor's, shared with uv and ev. */
#include <stdlib.h>

#include "leaf.h"
#include "pool.h"
#include "sleep.h"

struct zyntax_executor {
  zx_exec ex; /* first: the executor casts the backend runtime to it */
  zx_pool pool;
  const zyntax_executor_loop_ops *ops;
  void *loop;
  int owns_loop; /* set once create succeeded */
};

static zyntax_executor *of(zx_exec *ex) { return (zyntax_executor *)ex; }

static void adapt_signal(zx_exec *ex) { of(ex)->ops->signal(of(ex)->loop); }
static void adapt_run_once(zx_exec *ex, int block) {
  of(ex)->ops->run_once(of(ex)->loop, block);
}
static void adapt_interrupt(zx_exec *ex) { of(ex)->ops->interrupt(of(ex)->loop); }
static void adapt_timer_arm(zx_exec *ex, uint64_t ms) {
  of(ex)->ops->timer_arm(of(ex)->loop, ms);
}
/* No pollable fd: the host-loop entries are not offered (executor.h). */
static int adapt_backend_fd(zx_exec *ex) {
  (void)ex;
  return -1;
}
static void adapt_free(zx_exec *ex) {
  zyntax_executor *e = of(ex);
  if (e->owns_loop) e->ops->free(e->loop);
  free(e);
}

static const zx_loop_ops adapted = {adapt_signal, adapt_run_once, adapt_interrupt,
                                    adapt_free, adapt_timer_arm, adapt_backend_fd};

static int ops_valid(const zyntax_executor_loop_ops *ops) {
  return ops != NULL && ZYNTAX_BACKEND_HAS(ops, signal) &&
         ZYNTAX_BACKEND_HAS(ops, run_once) && ZYNTAX_BACKEND_HAS(ops, interrupt) &&
         ZYNTAX_BACKEND_HAS(ops, timer_arm) && ZYNTAX_BACKEND_HAS(ops, free);
}

int zyntax_executor_create(const zyntax_backend_host *host,
                           const zyntax_runtime_options *opts,
                           const zyntax_executor_loop_ops *ops, void *loop,
                           zyntax_executor **out) {
  if (host == NULL || opts == NULL || out == NULL || !ops_valid(ops))
    return ZYNTAX_EINVAL;
  zyntax_executor *e = calloc(1, sizeof *e);
  if (e == NULL) return ZYNTAX_ENOMEM;
  e->ops = ops;
  e->loop = loop;
  if (zx_exec_init(&e->ex, &adapted, host) != 0) {
    free(e);
    return ZYNTAX_ENOMEM;
  }
  if (zx_pool_init(&e->pool, opts->blocking_threads) != 0) {
    zx_exec_shutdown(&e->ex);
    zx_exec_unref(&e->ex); /* frees `e`, not `loop` (owns_loop is 0) */
    return ZYNTAX_ENOMEM;
  }
  e->owns_loop = 1;
  *out = e;
  return 0;
}

zyntax_backend_runtime *zyntax_executor_runtime(zyntax_executor *ex) {
  return (zyntax_backend_runtime *)ex;
}

zyntax_executor *zyntax_executor_from(zyntax_backend_runtime *rt) {
  return (zyntax_executor *)rt;
}

void *zyntax_executor_loop(zyntax_executor *ex) { return ex->loop; }

void zyntax_executor_shutdown(zyntax_executor *ex) {
  zx_exec_shutdown(&ex->ex);
  zx_pool_shutdown(&ex->pool); /* waits for jobs already running */
}

void zyntax_executor_unref(zyntax_executor *ex) { zx_exec_unref(&ex->ex); }

void zyntax_executor_timer_fired(zyntax_executor *ex) { zx_exec_timer_fired(&ex->ex); }

void *zyntax_executor_leaf_alloc(zyntax_executor *ex, size_t size, size_t align) {
  uint8_t cls;
  return zx_leaf_alloc(&ex->ex, size, align, &cls);
}

void zyntax_executor_leaf_free(zyntax_executor *ex, void *p, size_t size,
                               size_t align) {
  zx_leaf_free(&ex->ex, p, zx_arena_class(size, align));
}

int zyntax_executor_leaf_refuse(zyntax_executor *ex, zyntax_future *f) {
  return zx_leaf_refuse(f, &ex->ex);
}

void zyntax_executor_count_io_wait(zyntax_executor *ex) {
  zx_count(&ex->ex.stats.io_waits);
}

int zyntax_executor_spawn(zyntax_backend_runtime *rt, const zyntax_spawn_args *args,
                          zyntax_task **out) {
  return zx_exec_spawn(rt, args, out);
}

int zyntax_executor_spawn_detached(zyntax_backend_runtime *rt,
                                   const zyntax_spawn_args *args) {
  return zx_exec_spawn_detached(rt, args);
}

int zyntax_executor_block_on(zyntax_backend_runtime *rt, zyntax_task *task) {
  return zx_exec_block_on(rt, task);
}

int zyntax_executor_block_on_future(zyntax_backend_runtime *rt, void *state,
                                    zyntax_poll_fn poll) {
  return zx_exec_block_on_future(rt, state, poll);
}

int zyntax_executor_run(zyntax_backend_runtime *rt) { return zx_exec_run(rt); }

void zyntax_executor_stats(const zyntax_backend_runtime *rt, zyntax_stats *out) {
  zx_exec_stats(rt, out);
}

int zyntax_executor_sleep_until(zyntax_backend_runtime *rt, uint64_t deadline_ns,
                                zyntax_future **out) {
  return zx_sleep_until(rt, deadline_ns, out);
}

int zyntax_executor_blocking(zyntax_backend_runtime *rt, zyntax_blocking_fn fn,
                             void *arg, zyntax_future **out) {
  zyntax_executor *e = zyntax_executor_from(rt);
  return zx_pool_blocking(&e->ex, &e->pool, fn, arg, out);
}
