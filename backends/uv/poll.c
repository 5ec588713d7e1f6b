/* fd readiness on uv_poll_t. libuv allows one poll handle per fd and loop,
 * so every fd has one watch that multiplexes all futures waiting on it.
 * When its last waiter leaves, the watch is stopped - the fd leaves epoll at
 * once, so a closed and reused fd number never meets a stale registration -
 * but kept initialised for the next wait on the same fd: a wait then costs
 * an fstat and epoll's add and delete, instead of also uv_poll_init's probe
 * (two epoll_ctl and an ioctl) and a close.
 *
 * Misuse - an fd closed while waits on it are pending, and its number
 * reused - is met when a new wait arrives on that number: the watch
 * remembers which file it watches (device, inode); if the number now names
 * another one, its waits complete with ZYNTAX_EBADF and the new wait gets
 * a fresh watch, so it never starves behind the stale registration. */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "leaf.h"
#include "uv_backend.h"

typedef struct uvb_fdwait uvb_fdwait;

struct uvb_watch {
  uv_poll_t handle;
  uvb_runtime *rt;
  int fd;
  int events;          /* uv events currently started */
  zx_fdid id;          /* the file fd named when the watch was made */
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
  uint8_t cls; /* its arena class (leaf.h) */
};

static int uv_events(unsigned zyntax_events) {
  return ((zyntax_events & ZYNTAX_READABLE) ? UV_READABLE : 0) |
         ((zyntax_events & ZYNTAX_WRITABLE) ? UV_WRITABLE : 0);
}

static unsigned zyntax_events(int uv) {
  return ((uv & UV_READABLE) ? ZYNTAX_READABLE : 0u) |
         ((uv & UV_WRITABLE) ? ZYNTAX_WRITABLE : 0u);
}

/* ---- watches ---- */

static void on_ready(uv_poll_t *handle, int status, int events);

static void free_on_close(uv_handle_t *handle) { free(handle->data); }

static uvb_watch *watch_at(uvb_runtime *rt, int fd) { return rt->fds.slot[fd]; }

static void watch_close(uvb_watch *w) {
  w->rt->fds.slot[w->fd] = NULL;
  uv_close((uv_handle_t *)&w->handle, free_on_close);
}

static void detach(uvb_fdwait *f);

/* Completes every wait of `w` with `result` and closes it: the loop or the
 * file it watched is gone. The futures stay their owners'. */
static void watch_fail(uvb_watch *w, int result) {
  while (w->waiters != NULL) {
    uvb_fdwait *f = w->waiters;
    f->base.result = result; /* read by this thread's next poll */
    detach(f);
    zyntax_waker_wake(&f->waker);
  }
  watch_close(w);
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

/* A running watch is reused while its fd number still names the file it
 * watches. An idle one may be reused only while the number is an open
 * socket or pipe: starting it on a closed fd or a regular file would make
 * libuv abort on epoll_ctl's error. Anything else goes through
 * uv_poll_init's own check again. */
static int reusable(uvb_watch *w) {
  struct stat st;
  int open = fstat(w->fd, &st) == 0;
  if (w->waiters != NULL) {
    if (open && zx_fdid_same(w->id, zx_fdid_of(&st))) return 1;
    watch_fail(w, ZYNTAX_EBADF); /* closed, maybe reused: stale waits */
    return 0;
  }
  return open && (S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode));
}

static int watch_get(uvb_runtime *rt, int fd, uvb_watch **out) {
  int rc = zx_fdtab_reserve(&rt->fds, fd);
  if (rc != 0) return rc;
  if (watch_at(rt, fd) != NULL) {
    if (reusable(watch_at(rt, fd))) {
      *out = watch_at(rt, fd);
      return 0;
    }
    if (watch_at(rt, fd) != NULL) watch_close(watch_at(rt, fd));
  }
  struct stat st;
  uvb_watch *w = calloc(1, sizeof *w);
  if (w == NULL) return ZYNTAX_ENOMEM;
  /* Fails for fds epoll cannot watch (regular files) and closed fds. */
  if (fstat(fd, &st) != 0 || uv_poll_init(&rt->loop, &w->handle, fd) != 0) {
    free(w);
    return ZYNTAX_EBADF;
  }
  w->handle.data = w;
  w->rt = rt;
  w->fd = fd;
  w->id = zx_fdid_of(&st);
  rt->fds.slot[fd] = w;
  *out = w;
  return 0;
}

/* Destroy: every watch is closed while the loop still exists; waits that
 * outlive the runtime are detached (their next poll: ZYNTAX_ECLOSED, and
 * their drop touches no loop). */
void uvb_watches_close(uvb_runtime *rt) {
  for (size_t fd = 0; fd < rt->fds.n; fd++)
    if (watch_at(rt, (int)fd) != NULL) watch_fail(watch_at(rt, (int)fd), ZYNTAX_ECLOSED);
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
  if (zx_leaf_refuse(base, &f->rt->ex)) return ZYNTAX_READY;
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
  if (f->watch != NULL) { /* never after destroy: it detached us */
    uvb_watch *w = f->watch;
    detach(f);
    watch_settle(w);
  }
  zx_leaf_free(&f->rt->ex, f, f->cls); /* maybe the last block */
}

const zyntax_future_ops uvb_fdwait_ops = ZYNTAX_FUTURE_OPS_INIT(fdwait_poll, fdwait_drop);

int uvb_fd_wait(zyntax_backend_runtime *rt, int fd, unsigned events,
                zyntax_future **out) {
  uint8_t cls;
  uvb_fdwait *f = zx_leaf_alloc(&uvb_from(rt)->ex, sizeof *f, alignof(uvb_fdwait), &cls);
  if (f == NULL) return ZYNTAX_ENOMEM;
  f->cls = cls;
  f->base = (zyntax_future){&uvb_fdwait_ops, ZYNTAX_NOT_FINISHED};
  f->rt = uvb_from(rt);
  f->fd = fd;
  f->want = events;
  *out = &f->base;
  return 0;
}
