/* fd watches for a backend without the ABI 2.2 entries (the contract is
 * backend.h's fd_watch_*): each watch wait is the backend's fd_wait on the
 * watch's duplicate descriptor, wrapped so that the watch's close can
 * complete it with its reason. The wrapper keeps its task's waker while
 * the inner wait is pending; a watch's pending wrappers are on a list
 * under the watch's lock (waits may be polled on any Tokio worker while
 * the watch is closed on another). Costs one fd_wait per wait, as
 * zyntax_fd_wait_future does: the identity check stays the backend's.
 * A dropped wrapper is kept on the watch for its next wait (up to
 * FB_SPARE of them), so a watch waited on one wait at a time allocates
 * nothing after its first wait. */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "internal.h"

typedef struct fb_wait fb_wait;

#define FB_SPARE 4

typedef struct fb_watch {
  zyntax_runtime *rt;
  int fd;
  pthread_mutex_t lock;
  int ended;         /* 0, or the close's reason (under lock) */
  fb_wait *pending;  /* wrappers whose task waits (under lock) */
  fb_wait *spare;    /* dropped wrappers kept for reuse (under lock) */
  unsigned nspare;
  atomic_uint refs;  /* the handle's, one per wrapper */
} fb_watch;

struct fb_wait {
  zyntax_future base; /* first */
  fb_watch *w;
  zyntax_future *inner;
  zyntax_waker waker; /* under w->lock while linked */
  int linked;
  fb_wait *prev, *next;
};

static fb_watch *watch_of(zyntax_backend_fd_watch *w) { return (fb_watch *)(void *)w; }

static void unref(fb_watch *w) {
  /* acq_rel: the last one sees every other owner's writes before freeing. */
  if (atomic_fetch_sub_explicit(&w->refs, 1, memory_order_acq_rel) != 1) return;
  while (w->spare != NULL) {
    fb_wait *f = w->spare;
    w->spare = f->next;
    free(f);
  }
  pthread_mutex_destroy(&w->lock);
  free(w);
}

static void link_wait(fb_wait *f) {
  fb_watch *w = f->w;
  f->prev = NULL;
  f->next = w->pending;
  if (w->pending) w->pending->prev = f;
  w->pending = f;
  f->linked = 1;
}

static void unlink_wait(fb_wait *f) {
  if (!f->linked) return;
  if (f->prev)
    f->prev->next = f->next;
  else
    f->w->pending = f->next;
  if (f->next) f->next->prev = f->prev;
  f->linked = 0;
}

/* READY with the watch's end reason if it ended (lock held). */
static int ended_under_lock(fb_wait *f) {
  if (f->w->ended == 0) return 0;
  unlink_wait(f);
  f->base.result = f->w->ended;
  return 1;
}

static zyntax_poll fb_poll(zyntax_future *base, const zyntax_waker *waker) {
  fb_wait *f = (fb_wait *)base;
  fb_watch *w = f->w;
  pthread_mutex_lock(&w->lock);
  int ended = ended_under_lock(f);
  pthread_mutex_unlock(&w->lock);
  if (ended) return ZYNTAX_READY;
  int rc;
  zyntax_poll p = zyntax_future_poll(f->inner, waker, &rc);
  pthread_mutex_lock(&w->lock);
  if (p == ZYNTAX_READY) {
    unlink_wait(f);
    f->base.result = rc;
  } else if (!ended_under_lock(f)) { /* a close between the two looks */
    zyntax_waker_store(&f->waker, waker);
    if (!f->linked) link_wait(f);
  } else {
    p = ZYNTAX_READY;
  }
  pthread_mutex_unlock(&w->lock);
  return p;
}

static void fb_drop(zyntax_future *base) {
  fb_wait *f = (fb_wait *)base;
  fb_watch *w = f->w;
  zyntax_future_drop(f->inner);
  zyntax_waker_drop(&f->waker);
  pthread_mutex_lock(&w->lock);
  unlink_wait(f);
  int keep = w->ended == 0 && w->nspare < FB_SPARE;
  if (keep) {
    f->next = w->spare;
    w->spare = f;
    w->nspare++;
  }
  pthread_mutex_unlock(&w->lock);
  if (!keep) free(f);
  unref(w);
}

/* A zeroed wrapper: a spare one, or a new one. */
static fb_wait *take_wait(fb_watch *w) {
  pthread_mutex_lock(&w->lock);
  fb_wait *f = w->spare;
  if (f != NULL) {
    w->spare = f->next;
    w->nspare--;
  }
  pthread_mutex_unlock(&w->lock);
  if (f == NULL) return calloc(1, sizeof *f);
  memset(f, 0, sizeof *f);
  return f;
}

static void give_back(fb_watch *w, fb_wait *f) {
  pthread_mutex_lock(&w->lock);
  f->next = w->spare;
  w->spare = f;
  w->nspare++;
  pthread_mutex_unlock(&w->lock);
}

static const zyntax_future_ops fb_wait_ops = ZYNTAX_FUTURE_OPS_INIT(fb_poll, fb_drop);

/* Can epoll watch `fd`? Asked of a probe set, as the C backends' epoll set
 * would answer at their open: a regular file, a directory or /dev/null
 * cannot be watched (EPERM). */
static int watchable(int fd) {
  int probe = epoll_create1(EPOLL_CLOEXEC);
  if (probe < 0) return 1; /* cannot tell: the first wait will */
  struct epoll_event e = {.events = EPOLLIN};
  int ok = epoll_ctl(probe, EPOLL_CTL_ADD, fd, &e) == 0;
  close(probe);
  return ok;
}

int zx_fd_watch_fallback_open(zyntax_runtime *rt, int fd,
                              zyntax_backend_fd_watch **out) {
  if (!watchable(fd)) return ZYNTAX_EBADF;
  fb_watch *w = calloc(1, sizeof *w);
  if (w == NULL) return ZYNTAX_ENOMEM;
  w->rt = rt;
  w->fd = fd;
  pthread_mutex_init(&w->lock, NULL);
  atomic_init(&w->refs, 1);
  *out = (zyntax_backend_fd_watch *)(void *)w;
  return 0;
}

int zx_fd_watch_fallback_wait(zyntax_backend_fd_watch *handle, unsigned events,
                              zyntax_future **out) {
  fb_watch *w = watch_of(handle);
  fb_wait *f = take_wait(w);
  if (f == NULL) return ZYNTAX_ENOMEM;
  int rc = w->rt->backend->fd_wait(w->rt->impl, w->fd, events, &f->inner);
  if (rc != 0) {
    give_back(w, f);
    return rc;
  }
  f->base = (zyntax_future){&fb_wait_ops, ZYNTAX_NOT_FINISHED};
  f->w = w;
  atomic_fetch_add_explicit(&w->refs, 1, memory_order_relaxed);
  *out = &f->base;
  return 0;
}

void zx_fd_watch_fallback_close(zyntax_backend_fd_watch *handle, int reason) {
  fb_watch *w = watch_of(handle);
  pthread_mutex_lock(&w->lock);
  w->ended = reason;
  /* Woken, the tasks poll their waits and find the reason (fb_poll). */
  for (fb_wait *f = w->pending; f != NULL; f = f->next) zyntax_waker_wake_by_ref(&f->waker);
  pthread_mutex_unlock(&w->lock);
  unref(w);
}
