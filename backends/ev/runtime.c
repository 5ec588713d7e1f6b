/* The libev runtime: ev_loop_new() per runtime, so several runtimes and
 * other libev users in the process never share a loop; woken from other
 * threads through an ev_async. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ev_backend.h"

static void on_wakeup(struct ev_loop *loop, ev_async *w, int revents) {
  (void)loop, (void)w, (void)revents; /* the executor drains its inbox */
}

/* fd waits: one ev_io watches the executor's epoll set (executor/
 * reactor.h says why fds are not watched one ev_io each). */
static void on_reactor(struct ev_loop *loop, ev_io *w, int revents) {
  (void)loop, (void)revents;
  zx_reactor_dispatch(w->data);
}

static void loop_signal(zx_exec *ex) {
  evb_runtime *rt = (evb_runtime *)ex;
  ev_async_send(rt->loop, &rt->wakeup);
}

/* Most turns skipped after a look at the set found nothing. */
#define LOOK_BACKOFF_MAX 63u

/* A turn that would block looks at the fd set first and ends there when
 * it found events (a busy server: its fds are ready again by the time its
 * tasks ran): one epoll_wait, not libev's and then the set's. libev loses
 * nothing by it: its async only wakes a blocked ev_run (the drive loop
 * reads the inbox every time round, and the next ev_run sees an async sent
 * meanwhile before it would block), its timer only ends a blocked ev_run
 * (each turn advances the wheel anyway). A look that finds nothing cost one
 * epoll_wait more (a runtime that waits for its peers): the next looks
 * come after 1, 3, 7 ... LOOK_BACKOFF_MAX skipped turns. */
static void loop_run_once(zx_exec *ex, int block) {
  evb_runtime *rt = (evb_runtime *)ex;
  if (block && rt->look_in > 0) {
    rt->look_in--;
  } else if (block) {
    if (zx_reactor_dispatch(ex) > 0) {
      rt->look_backoff = 0;
      return;
    }
    rt->look_backoff = rt->look_backoff < LOOK_BACKOFF_MAX / 2 ? rt->look_backoff * 2 + 1
                                                                 : LOOK_BACKOFF_MAX;
    rt->look_in = rt->look_backoff;
  }
  ev_run(rt->loop, block ? EVRUN_ONCE : EVRUN_NOWAIT);
}

/* ev_run() invokes its callbacks after it polled, so a task queued by one
 * never meets a blocking wait in the same iteration; breaking keeps the
 * contract explicit should a callback ever run before the poll (prepare
 * watchers, fed events). */
static void loop_interrupt(zx_exec *ex) {
  ev_break(((evb_runtime *)ex)->loop, EVBREAK_ONE);
}

static void loop_free(zx_exec *ex) { free(ex); }

/* libev keeps its epoll fd private (no ev_backend_fd()), and its
 * ev_async_send() writes its pipe only while a thread is inside ev_run():
 * a host loop watches the reactor's set and an eventfd instead (host.c). */
static int loop_backend_fd(zx_exec *ex) {
  (void)ex;
  return -1;
}

static const zx_loop_ops loop_ops = {loop_signal, loop_run_once, loop_interrupt,
                                     loop_free, evb_timer_arm, loop_backend_fd};

/* libev creates its async eventfd in ev_async_start() and abort()s when it
 * cannot; make sure a descriptor is free first, so the caller gets an
 * error instead. */
static int descriptor_available(zyntax_error *err) {
  int fd = eventfd(0, EFD_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  snprintf(err->message, sizeof err->message, "libev: %s", strerror(errno));
  return ZYNTAX_EBACKEND;
}

int evb_create(const zyntax_backend_host *host,
               const zyntax_runtime_options *opts, zyntax_backend_runtime **out,
               zyntax_error *err) {
  evb_runtime *rt = calloc(1, sizeof *rt);
  if (rt == NULL) return ZYNTAX_ENOMEM;
  int rc = zx_exec_init(&rt->ex, &loop_ops, host);
  if (rc != 0) {
    free(rt);
    return rc;
  }
  /* EVFLAG_AUTO: libev honours LIBEV_FLAGS only when the process is not
   * setuid (its own enable_secure() check). */
  rt->loop = ev_loop_new(EVFLAG_AUTO);
  if (rt->loop == NULL) {
    rc = ZYNTAX_EBACKEND;
    snprintf(err->message, sizeof err->message, "libev: ev_loop_new failed");
  }
  if (rc == 0) rc = descriptor_available(err); /* the loop took one already */
  if (rc == 0) rc = zx_pool_init(&rt->pool, opts->blocking_threads);
  if (rc != 0) {
    if (rt->loop) ev_loop_destroy(rt->loop);
    zx_exec_shutdown(&rt->ex);
    zx_exec_unref(&rt->ex);
    return rc;
  }
  ev_async_init(&rt->wakeup, on_wakeup);
  ev_async_start(rt->loop, &rt->wakeup);
  evb_timer_init(rt);
  ev_io_init(&rt->reactor, on_reactor, zx_reactor_fd(&rt->ex.reactor), EV_READ);
  rt->reactor.data = &rt->ex;
  ev_io_start(rt->loop, &rt->reactor);
  *out = (zyntax_backend_runtime *)rt;
  return 0;
}

void evb_destroy(zyntax_backend_runtime *brt) {
  evb_runtime *rt = evb_from(brt);
  zx_exec_shutdown(&rt->ex); /* cancels tasks: their futures stop watchers */
  ev_async_stop(rt->loop, &rt->wakeup);
  ev_timer_stop(rt->loop, &rt->timer);
  ev_io_stop(rt->loop, &rt->reactor); /* fd waits still out: unref */
  zx_pool_shutdown(&rt->pool); /* waits for jobs already running */
  ev_loop_destroy(rt->loop);
  zx_exec_unref(&rt->ex);
}

int evb_blocking(zyntax_backend_runtime *rt, zyntax_blocking_fn fn, void *arg,
                 zyntax_future **out) {
  return zx_pool_blocking(&evb_from(rt)->ex, &evb_from(rt)->pool, fn, arg, out);
}
