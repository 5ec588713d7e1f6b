/* The libuv runtime: one uv_loop_t per runtime (never the default loop),
 * woken from other threads through a uv_async_t. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "uv_backend.h"

static void on_wakeup(uv_async_t *handle) {
  (void)handle; /* the executor drains its inbox after every loop turn */
}

/* The caller has just published work (the inbox and its hint) with plain
 * and release stores. libuv 1.44's uv_async_send() starts with a plain read
 * of the handle's pending flag and returns if it is set, with no barrier
 * first; the loop thread clears the flag (a full barrier) before it runs
 * the callback, and the executor then reads the hint. Without a full fence
 * here the hint store could still be buffered while this thread reads the
 * old flag: both sides miss each other and the driver blocks with the task
 * in the inbox (store buffering). libev's ev_async_send() fences first. */
static void loop_signal(zx_exec *ex) {
  atomic_thread_fence(memory_order_seq_cst);
  uv_async_send(&((uvb_runtime *)ex)->wakeup);
}

static void loop_run_once(zx_exec *ex, int block) { uvb_run_once((uvb_runtime *)ex, block); }

/* A turn blocks only in the set's wait, before any callback runs, and
 * uv_run() never blocks (poll.c): nothing to stop. (uv_stop() outside
 * uv_run() would make the next uv_run() skip its iteration.) */
static void loop_interrupt(zx_exec *ex) { (void)ex; }

static void loop_free(zx_exec *ex) { free(ex); }

/* The loop's epoll fd (libuv's embedding interface). */
static int loop_backend_fd(zx_exec *ex) {
  return uv_backend_fd(&((uvb_runtime *)ex)->loop);
}

static const zx_loop_ops loop_ops = {loop_signal, loop_run_once, loop_interrupt,
                                     loop_free, uvb_timer_arm, loop_backend_fd};

/* Closes what is left (a failed create) or was missed (destroy), so the
 * loop can always close. */
static void close_leftover(uv_handle_t *handle, void *arg) {
  (void)arg;
  if (!uv_is_closing(handle)) uv_close(handle, NULL);
}

int uvb_create(const zyntax_backend_host *host,
               const zyntax_runtime_options *opts, zyntax_backend_runtime **out,
               zyntax_error *err) {
  (void)opts; /* uv polls on the driving thread; its pool size is global */
  uvb_runtime *rt = calloc(1, sizeof *rt);
  if (rt == NULL) return ZYNTAX_ENOMEM;
  int rc = zx_exec_init(&rt->ex, &loop_ops, host);
  if (rc != 0) {
    free(rt);
    return rc;
  }
  rc = uv_loop_init(&rt->loop);
  if (rc == 0) {
    rc = uv_async_init(&rt->loop, &rt->wakeup, on_wakeup);
    if (rc == 0) rc = uvb_timer_init(rt); /* cannot fail in libuv 1.x */
    if (rc == 0) rc = uvb_reactor_start(rt);
    if (rc != 0) {
      uv_walk(&rt->loop, close_leftover, NULL);
      uv_run(&rt->loop, UV_RUN_DEFAULT);
      uv_loop_close(&rt->loop);
    }
  }
  if (rc != 0) {
    snprintf(err->message, sizeof err->message, "libuv: %s", uv_strerror(rc));
    zx_exec_shutdown(&rt->ex);
    zx_exec_unref(&rt->ex);
    return rc == UV_ENOMEM ? ZYNTAX_ENOMEM : ZYNTAX_EBACKEND;
  }
  rt->loop.data = rt;
  *out = (zyntax_backend_runtime *)rt;
  return 0;
}

void uvb_destroy(zyntax_backend_runtime *brt) {
  uvb_runtime *rt = uvb_from(brt);
  zx_exec_shutdown(&rt->ex); /* cancels tasks: their futures close handles */
  uv_close((uv_handle_t *)&rt->wakeup, NULL);
  uv_close((uv_handle_t *)&rt->timer, NULL);
  uv_walk(&rt->loop, close_leftover, NULL);
  /* Runs close callbacks and waits for blocking jobs already running. */
  while (uv_run(&rt->loop, UV_RUN_DEFAULT) != 0) {
  }
  uv_loop_close(&rt->loop);
  zx_exec_unref(&rt->ex); /* the memory goes with the last arena block */
}
