/* fd readiness on ev_io. libev lets any number of watchers share an fd, so
 * each future owns its watcher; the runtime also lists the started waits
 * of each fd (rt->waits), for two cases libev does not handle as the
 * other backends do:
 *   - a file epoll cannot watch (regular file, directory, /dev/null):
 *     libev would report it always ready; the wait completes with
 *     ZYNTAX_EBADF instead, as on uv and tokio;
 *   - an fd closed while waits are pending and its number reused (misuse):
 *     libev would hand the new file's events to the stale waits. A new
 *     wait on the number completes the stale ones with ZYNTAX_EBADF. */
#include <stdalign.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#include "ev_backend.h"
#include "leaf.h"

typedef struct evb_fdwait evb_fdwait;

struct evb_fdwait {
  zyntax_future base; /* first */
  evb_runtime *rt;
  unsigned want;
  unsigned ready; /* set by the callback on the driving thread */
  int error;
  int started;    /* io is started and the wait is on rt->waits[fd] */
  zx_fdid id;     /* the file fd named when the wait started */
  evb_fdwait *prev, *next;
  zx_host_watch host; /* its fd in a host loop's fd (executor/host.c) */
  zyntax_waker waker;
  ev_io io;
  uint8_t cls; /* its arena class (leaf.h) */
};

/* ---- the started waits of each fd ---- */

static void link_wait(evb_fdwait *f) {
  evb_fdwait **head = (evb_fdwait **)&f->rt->waits.slot[f->io.fd];
  f->prev = NULL;
  f->next = *head;
  if (*head) (*head)->prev = f;
  *head = f;
}

static void stop(evb_fdwait *f) {
  evb_fdwait **head = (evb_fdwait **)&f->rt->waits.slot[f->io.fd];
  ev_io_stop(f->rt->loop, &f->io);
  zx_host_watch_stop(&f->rt->ex, &f->host);
  if (f->prev)
    f->prev->next = f->next;
  else
    *head = f->next;
  if (f->next) f->next->prev = f->prev;
  f->prev = f->next = NULL;
  f->started = 0;
}

/* Stops `f` and completes it with `error` (its owner keeps the memory). */
static void fail(evb_fdwait *f, int error) {
  stop(f);
  f->error = error;
  f->base.result = error; /* read by this thread's next poll */
  zyntax_waker_wake(&f->waker);
}

/* Waits on `fd` that were started on a file the number no longer names. */
static void fail_stale(evb_runtime *rt, int fd, zx_fdid id) {
  evb_fdwait *f = rt->waits.slot[fd];
  while (f != NULL) {
    evb_fdwait *next = f->next;
    if (!zx_fdid_same(f->id, id)) fail(f, ZYNTAX_EBADF);
    f = next;
  }
}

void evb_io_detach_all(evb_runtime *rt) {
  for (size_t fd = 0; fd < rt->waits.n; fd++)
    while (rt->waits.slot[fd] != NULL) fail(rt->waits.slot[fd], ZYNTAX_ECLOSED);
  zx_fdtab_free(&rt->waits);
  if (rt->probe_fd >= 0) close(rt->probe_fd);
  rt->probe_fd = -1;
}

/* ---- can epoll watch it? ---- */

/* A loop on another libev backend (select, poll) reports a device ready,
 * as it would anyway: only an epoll loop probes (fdtab.h). */
static int watchable(evb_runtime *rt, int fd, const struct stat *st) {
  int epoll = ev_backend(rt->loop) == EVBACKEND_EPOLL;
  return zx_fd_watchable(fd, st, epoll ? &rt->probe_fd : NULL);
}

/* ---- the future ---- */

static void on_io(struct ev_loop *loop, ev_io *io, int revents) {
  (void)loop;
  evb_fdwait *f = io->data;
  stop(f);
  if (revents & EV_ERROR)
    f->error = ZYNTAX_EBADF;
  else
    f->ready = ((revents & EV_READ) ? ZYNTAX_READABLE : 0u) |
               ((revents & EV_WRITE) ? ZYNTAX_WRITABLE : 0u);
  zyntax_waker_wake(&f->waker);
}

/* Starts watching; 0, or the future's result when it cannot. */
static int start(zyntax_future *base) {
  evb_fdwait *f = (evb_fdwait *)base;
  evb_runtime *rt = f->rt;
  int fd = f->io.fd;
  struct stat st;
  /* libev asserts on an invalid fd in epoll_ctl: refuse it here. */
  if (fstat(fd, &st) != 0 || !watchable(rt, fd, &st)) return ZYNTAX_EBADF;
  if (zx_fdtab_reserve(&rt->waits, fd) != 0) return ZYNTAX_ENOMEM;
  f->id = zx_fdid_of(&st);
  fail_stale(rt, fd, f->id);
  link_wait(f);
  f->started = 1;
  zx_count(&rt->ex.stats.io_waits);
  ev_io_start(rt->loop, &f->io);
  zx_host_watch_start(&rt->ex, &f->host, fd, f->want);
  return 0;
}

static zyntax_poll fdwait_poll(zyntax_future *base, const zyntax_waker *waker) {
  evb_fdwait *f = (evb_fdwait *)base;
  int outcome = f->error ? f->error : f->ready ? (int)f->ready : ZYNTAX_NOT_FINISHED;
  return zx_leaf_poll_started(base, &f->rt->ex, outcome, f->started, start,
                              &f->waker, waker);
}

/* After destroy `started` is 0: evb_io_detach_all stopped the wait. */
static void fdwait_drop(zyntax_future *base) {
  evb_fdwait *f = (evb_fdwait *)base;
  if (f->started) stop(f);
  zyntax_waker_drop(&f->waker);
  zx_leaf_free(&f->rt->ex, f, f->cls); /* maybe the last block */
}

const zyntax_future_ops evb_fdwait_ops = ZYNTAX_FUTURE_OPS_INIT(fdwait_poll, fdwait_drop);

int evb_fd_wait(zyntax_backend_runtime *rt, int fd, unsigned events,
                zyntax_future **out) {
  uint8_t cls;
  evb_fdwait *f = zx_leaf_alloc(&evb_from(rt)->ex, sizeof *f, alignof(evb_fdwait), &cls);
  if (f == NULL) return ZYNTAX_ENOMEM;
  f->cls = cls;
  f->base = (zyntax_future){&evb_fdwait_ops, ZYNTAX_NOT_FINISHED};
  f->rt = evb_from(rt);
  f->want = events;
  int ev_events = ((events & ZYNTAX_READABLE) ? EV_READ : 0) |
                  ((events & ZYNTAX_WRITABLE) ? EV_WRITE : 0);
  ev_io_init(&f->io, on_io, fd, ev_events);
  f->io.data = f;
  *out = &f->base;
  return 0;
}
