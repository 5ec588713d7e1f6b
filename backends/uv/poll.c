/* fd readiness on uv_poll_t. libuv allows one poll handle per fd and loop,
 * so every fd has one watch that multiplexes all futures waiting on it.
 * A watch outlives its waits, kept initialised for the next wait on the
 * same fd (uv_poll_init probes with two epoll_ctl and an ioctl). A socket's
 * watch whose readers were served stays started for reading, as a native
 * libuv program keeps its watcher: the next read wait then costs one fstat,
 * which checks that the number still names the same socket (device, inode)
 * - libuv aborts on epoll_ctl errors, so a watch must never be started on
 * a number that was closed and reused. An event while nobody waits stops
 * it (level-triggered epoll would report it again and again), as does the
 * last waiter leaving any other kind of fd. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "uv_backend.h"

typedef struct uvb_fdwait uvb_fdwait;

struct uvb_watch {
  uv_poll_t handle;
  uvb_runtime *rt;
  int fd;
  int events;          /* uv events currently started */
  uvb_fdwait *waiters; /* doubly linked */
  int socket;          /* the fd is a socket: dev/ino name it */
  dev_t dev;
  ino_t ino;
};

struct uvb_fdwait {
  zyntax_future base; /* first */
  uvb_runtime *rt;
  int fd;
  unsigned want;
  zyntax_waker waker;
  uvb_watch *watch; /* set while waiting */
  uvb_fdwait *prev, *next;
};

static int uv_events(unsigned zyntax_events) {
  return ((zyntax_events & ZYNTAX_READABLE) ? UV_READABLE : 0) |
         ((zyntax_events & ZYNTAX_WRITABLE) ? UV_WRITABLE : 0);
}

static unsigned zyntax_events(int uv) {
  return ((uv & UV_READABLE) ? ZYNTAX_READABLE : 0u) |
         ((uv & UV_WRITABLE) ? ZYNTAX_WRITABLE : 0u);
}

/* ---- the fd table ---- */

static int table_reserve(uvb_runtime *rt, int fd) {
  if ((size_t)fd < rt->nwatches) return 0;
  size_t n = rt->nwatches ? rt->nwatches : 64;
  while (n <= (size_t)fd) n *= 2;
  uvb_watch **grown = realloc(rt->watches, n * sizeof *grown);
  if (grown == NULL) return ZYNTAX_ENOMEM;
  memset(grown + rt->nwatches, 0, (n - rt->nwatches) * sizeof *grown);
  rt->watches = grown;
  rt->nwatches = n;
  return 0;
}

void uvb_watches_free(uvb_runtime *rt) {
  free(rt->watches);
  rt->watches = NULL;
  rt->nwatches = 0;
}

/* ---- watches ---- */

static void on_ready(uv_poll_t *handle, int status, int events);

static void free_on_close(uv_handle_t *handle) { free(handle->data); }

static void watch_close(uvb_watch *w) {
  w->rt->watches[w->fd] = NULL;
  uv_close((uv_handle_t *)&w->handle, free_on_close);
}

/* Starts, narrows or stops the watch to match its waiters. With `keep`
 * (waiters were just served, or one gave up) an idle socket watch started
 * for reading only stays so. Keeping never starts or changes a watch: that
 * would make libuv call epoll_ctl later, when the fd may be closed. */
static void watch_settle(uvb_watch *w, int keep) {
  int want = 0;
  for (uvb_fdwait *f = w->waiters; f; f = f->next) want |= uv_events(f->want);
  if (want == 0 && keep && w->socket && w->events == UV_READABLE) want = UV_READABLE;
  if (want == w->events) return;
  w->events = want;
  if (want == 0)
    uv_poll_stop(&w->handle);
  else
    uv_poll_start(&w->handle, want, on_ready);
}

/* Whether the watch may serve a new wait on its fd, recording what the fd
 * is now: always while others wait on it (the fd is in use); a started
 * watch only for the same socket; a stopped one for any socket or pipe.
 * Anything else goes through uv_poll_init's own check again. */
static int reusable(uvb_watch *w) {
  struct stat st;
  if (w->waiters != NULL) return 1;
  if (fstat(w->fd, &st) != 0) return 0;
  int socket = S_ISSOCK(st.st_mode);
  if (w->events != 0) return socket && st.st_dev == w->dev && st.st_ino == w->ino;
  if (!socket && !S_ISFIFO(st.st_mode)) return 0;
  w->socket = socket;
  w->dev = st.st_dev;
  w->ino = st.st_ino;
  return 1;
}

static int watch_get(uvb_runtime *rt, int fd, uvb_watch **out) {
  int rc = table_reserve(rt, fd);
  if (rc != 0) return rc;
  if (rt->watches[fd] != NULL) {
    if (reusable(rt->watches[fd])) {
      *out = rt->watches[fd];
      return 0;
    }
    watch_close(rt->watches[fd]);
  }
  uvb_watch *w = calloc(1, sizeof *w);
  if (w == NULL) return ZYNTAX_ENOMEM;
  /* Fails for fds epoll cannot watch (regular files) and closed fds. */
  if (uv_poll_init(&rt->loop, &w->handle, fd) != 0) {
    free(w);
    return ZYNTAX_EBADF;
  }
  w->handle.data = w;
  w->rt = rt;
  w->fd = fd;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) {
    w->socket = 1;
    w->dev = st.st_dev;
    w->ino = st.st_ino;
  }
  rt->watches[fd] = w;
  *out = w;
  return 0;
}

void uvb_watches_close(uvb_runtime *rt) {
  for (size_t fd = 0; fd < rt->nwatches; fd++)
    if (rt->watches[fd] != NULL && rt->watches[fd]->waiters == NULL)
      watch_close(rt->watches[fd]);
}

static void detach(uvb_fdwait *f) {
  uvb_watch *w = f->watch;
  if (f->prev)
    f->prev->next = f->next;
  else
    w->waiters = f->next;
  if (f->next) f->next->prev = f->prev;
  f->prev = f->next = NULL;
  f->watch = NULL;
}

static void on_ready(uv_poll_t *handle, int status, int events) {
  uvb_watch *w = handle->data;
  int served = w->waiters != NULL; /* else: ready while nobody waits */
  if (status < 0) {
    /* libuv stopped the handle (POLLERR). Report every wanted event: the
     * waiter's next syscall returns the real error, as with epoll. */
    w->events = 0;
  }
  uvb_fdwait *f = w->waiters;
  while (f != NULL) {
    uvb_fdwait *next = f->next;
    unsigned ready = status < 0 ? f->want : zyntax_events(events) & f->want;
    if (ready) {
      f->base.result = (int)ready; /* read by this thread's next poll */
      detach(f);
      zyntax_waker_wake(&f->waker);
    }
    f = next;
  }
  watch_settle(w, served);
}

/* ---- the future ---- */

static zyntax_poll fdwait_poll(zyntax_future *base, const zyntax_waker *waker) {
  uvb_fdwait *f = (uvb_fdwait *)base;
  if (zx_future_refuse_foreign(base, &f->rt->ex)) return ZYNTAX_READY;
  if (f->watch == NULL) { /* first poll */
    uvb_watch *w;
    int rc = watch_get(f->rt, f->fd, &w);
    if (rc != 0) {
      base->result = rc;
      return ZYNTAX_READY;
    }
    f->watch = w;
    f->next = w->waiters;
    if (w->waiters) w->waiters->prev = f;
    w->waiters = f;
    zx_count(&f->rt->ex.stats.io_waits);
    watch_settle(w, 0);
  }
  zyntax_waker_store(&f->waker, waker);
  return ZYNTAX_PENDING;
}

static void fdwait_drop(zyntax_future *base) {
  uvb_fdwait *f = (uvb_fdwait *)base;
  zyntax_waker_drop(&f->waker);
  if (f->watch != NULL) {
    uvb_watch *w = f->watch;
    detach(f);
    watch_settle(w, 1);
  }
  free(f);
}

static const zyntax_future_ops fdwait_ops = {fdwait_poll, fdwait_drop};

int uvb_fd_wait(zyntax_backend_runtime *rt, int fd, unsigned events,
                zyntax_future **out) {
  uvb_fdwait *f = calloc(1, sizeof *f);
  if (f == NULL) return ZYNTAX_ENOMEM;
  f->base = (zyntax_future){&fdwait_ops, ZYNTAX_TASK_RUNNING};
  f->rt = uvb_from(rt);
  f->fd = fd;
  f->want = events;
  *out = &f->base;
  return 0;
}
