/* fd readiness on uv_poll_t. libuv allows one poll handle per fd and loop,
 * so every fd has one watch that multiplexes all futures waiting on it.
 * When its last waiter leaves, the watch is stopped - the fd leaves epoll at
 * once, so a closed and reused fd number never meets a stale registration -
 * but kept initialised for the next wait on the same fd: a wait then costs
 * an fstat and epoll's add and delete, instead of also uv_poll_init's probe
 * (two epoll_ctl and an ioctl) and a close. */
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

/* Starts, narrows or stops the watch to match its waiters. */
static void watch_settle(uvb_watch *w) {
  int want = 0;
  for (uvb_fdwait *f = w->waiters; f; f = f->next) want |= uv_events(f->want);
  if (want == w->events) return;
  w->events = want;
  if (want == 0)
    uv_poll_stop(&w->handle);
  else
    uv_poll_start(&w->handle, want, on_ready);
}

/* An idle watch may be reused only while its fd number is an open socket
 * or pipe: starting it on a closed fd or a regular file would make libuv
 * abort on epoll_ctl's error. Anything else goes through uv_poll_init's
 * own check again. */
static int reusable(const uvb_watch *w) {
  struct stat st;
  if (w->waiters != NULL) return 1; /* running: the fd is in use */
  return fstat(w->fd, &st) == 0 && (S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode));
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
  watch_settle(w);
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
    watch_settle(w);
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
    watch_settle(w);
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
