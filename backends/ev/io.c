/* fd readiness on ev_io. libev lets any number of watchers share an fd, so
 * each future owns its watcher; stopping it on drop is all the cleanup. */
#include <fcntl.h>
#include <stdlib.h>

#include "ev_backend.h"

typedef struct evb_fdwait {
  zyntax_future base; /* first */
  evb_runtime *rt;
  unsigned want;
  unsigned ready;  /* set by the callback on the driving thread */
  int error;
  int started;
  zx_host_watch host; /* its fd in a host loop's fd (executor/host.c) */
  zyntax_waker waker;
  ev_io io;
} evb_fdwait;

static void on_io(struct ev_loop *loop, ev_io *io, int revents) {
  evb_fdwait *f = io->data;
  ev_io_stop(loop, io);
  f->started = 0;
  zx_host_watch_stop(&f->rt->ex, &f->host);
  if (revents & EV_ERROR)
    f->error = ZYNTAX_EBADF;
  else
    f->ready = ((revents & EV_READ) ? ZYNTAX_READABLE : 0u) |
               ((revents & EV_WRITE) ? ZYNTAX_WRITABLE : 0u);
  zyntax_waker_wake(&f->waker);
}

static zyntax_poll fdwait_poll(zyntax_future *base, const zyntax_waker *waker) {
  evb_fdwait *f = (evb_fdwait *)base;
  if (zx_future_refuse_foreign(base, &f->rt->ex)) return ZYNTAX_READY;
  if (f->error || f->ready) {
    base->result = f->error ? f->error : (int)f->ready;
    return ZYNTAX_READY;
  }
  if (!f->started && fcntl(f->io.fd, F_GETFD) < 0) {
    /* libev asserts on an invalid fd in epoll_ctl: refuse it here. */
    base->result = ZYNTAX_EBADF;
    return ZYNTAX_READY;
  }
  zyntax_waker_store(&f->waker, waker);
  if (!f->started) {
    f->started = 1;
    zx_count(&f->rt->ex.stats.io_waits);
    ev_io_start(f->rt->loop, &f->io);
    zx_host_watch_start(&f->rt->ex, &f->host, f->io.fd, f->want);
  }
  return ZYNTAX_PENDING;
}

static void fdwait_drop(zyntax_future *base) {
  evb_fdwait *f = (evb_fdwait *)base;
  if (f->started) ev_io_stop(f->rt->loop, &f->io);
  zx_host_watch_stop(&f->rt->ex, &f->host);
  zyntax_waker_drop(&f->waker);
  free(f);
}

static const zyntax_future_ops fdwait_ops = {fdwait_poll, fdwait_drop};

int evb_fd_wait(zyntax_backend_runtime *rt, int fd, unsigned events,
                zyntax_future **out) {
  evb_fdwait *f = calloc(1, sizeof *f);
  if (f == NULL) return ZYNTAX_ENOMEM;
  f->base = (zyntax_future){&fdwait_ops, ZYNTAX_TASK_RUNNING};
  f->rt = evb_from(rt);
  f->want = events;
  int ev_events = ((events & ZYNTAX_READABLE) ? EV_READ : 0) |
                  ((events & ZYNTAX_WRITABLE) ? EV_WRITE : 0);
  ev_io_init(&f->io, on_io, fd, ev_events);
  f->io.data = f;
  *out = &f->base;
  return 0;
}
