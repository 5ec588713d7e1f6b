/* zyntax_fd_watch_*: the public handle over the backend's fd watch entries
 * (ABI 2.2), or over the loader's own fallback (fdwatch_fallback.c) for a
 * backend without them.
 *
 * What the loader does for every backend, so that each behaves the same:
 *   - the watch holds a duplicate of the caller's fd, and the backend sees
 *     only the duplicate: a number nobody but the loader can close or
 *     reuse while the watch is open. So the backend may keep its
 *     registration across waits without asking at each wait whether the
 *     number still names the same file (after a close the kernel either
 *     drops a registration silently, or keeps it alive through another
 *     descriptor of the file and reports it under a number that now names
 *     another file: runtime.h, zyntax_fd_wait_future);
 *   - one open watch per caller's fd number and runtime: a later open on a
 *     number displaces the earlier watch (closed with ZYNTAX_EBADF) - a
 *     number watched again was closed and reused, or watched twice;
 *   - the thread rule (runtime.h, zyntax_fd_watch): the C backends keep
 *     their registrations on the driving thread;
 *   - destroy closes the watches still open before the backend's destroy. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "growtab.h"
#include "internal.h"

struct zyntax_fd_watch {
  zyntax_runtime *rt; /* not touched once `ended` is set (maybe freed) */
  const zyntax_backend *backend; /* resident: usable after rt is gone */
  zyntax_backend_fd_watch *impl;
  int fd;     /* the caller's number: the key in rt->watches */
  int own;    /* the duplicate the backend watches */
  int native; /* the backend's entries, else the fallback's */
  /* The backend polls zyntax_fd_watch_poll's wait in place (ABI 2.3):
   * `impl` stays allocated after its close, until fd_watch_free. Else
   * that wait is `kept`, a wait future of the watch's own (for `kept_events`),
   * touched only by the watch's poller and its destroy. */
  int in_place;
  zyntax_future *kept;
  unsigned kept_events;
  /* 0 while open; ZYNTAX_EBADF once displaced, ZYNTAX_ECLOSED once closed
   * by the runtime's destroy. Written under rt->watch_lock; read without
   * it by waits and close (acquire: the impl's close happened before). */
  atomic_int ended;
};

static int has_entries(const zyntax_backend *be) {
  return ZYNTAX_BACKEND_HAS(be, fd_watch_close);
}

/* The loader checked at load that fd_watch_poll comes with fd_watch_free
 * and the 2.2 entries. */
static int polls_in_place(const zyntax_backend *be) {
  return ZYNTAX_BACKEND_HAS(be, fd_watch_free);
}

static void drop_kept(zyntax_fd_watch *w) {
  zyntax_future_drop(w->kept);
  w->kept = NULL;
}

/* A wait future on `w`'s registration (`w` open, its runtime open). */
static int make_wait(zyntax_fd_watch *w, unsigned events, zyntax_future **out) {
  return w->native ? w->backend->fd_watch_wait(w->impl, events, out)
                   : zx_fd_watch_fallback_wait(w->impl, events, out);
}

/* Frees what is left of `w` once it ended, and `w`. */
static void free_watch(zyntax_fd_watch *w) {
  drop_kept(w);
  if (w->in_place) w->backend->fd_watch_free(w->impl);
  free(w);
}

/* Open and close run where the backend's registrations may be touched: on
 * a thread of the runtime (a task's poll or drop, its driving thread), or
 * while nobody drives it. */
static int thread_check(zyntax_runtime *rt, const char *func) {
  if (zx_thread_current() == rt ||
      !atomic_load_explicit(&rt->driving, memory_order_acquire))
    return 0;
  return zx_fail(NULL, ZYNTAX_EBUSY,
                 "%s: another thread is driving this runtime; call it from "
                 "one of its tasks, or while it is not driven", func);
}

/* Ends `w`'s registration and its duplicate: under rt->watch_lock, or
 * once `w` is out of rt->watches (nobody else reaches it then). */
static void end_watch(zyntax_fd_watch *w, int reason) {
  zyntax_runtime *rt = w->rt;
  if (w->native)
    rt->backend->fd_watch_close(w->impl, reason);
  else
    zx_fd_watch_fallback_close(w->impl, reason);
  close(w->own);
  w->own = -1;
  atomic_store_explicit(&w->ended, reason, memory_order_release);
}

/* Makes rt->watches[fd] exist (watch_lock held): 0 or ZYNTAX_ENOMEM. */
static int reserve(zyntax_runtime *rt, int fd) {
  if ((size_t)fd < rt->nwatches) return 0;
  zyntax_fd_watch **grown = zx_table_grow(rt->watches, &rt->nwatches, sizeof *grown, (size_t)fd);
  if (grown == NULL) return ZYNTAX_ENOMEM;
  rt->watches = grown;
  return 0;
}

/* Files `w` under its number, displacing the watch there; ZYNTAX_ECLOSED
 * once the runtime's destroy closed its watches. An open that passed its
 * check before the destroy began may get here after that: the destroy
 * sets `closing` before it takes the lock to close them, so it is seen
 * here, and nothing is filed in (or makes anew) the table it freed. */
static int file_watch(zyntax_fd_watch *w) {
  zyntax_runtime *rt = w->rt;
  pthread_mutex_lock(&rt->watch_lock);
  int rc = atomic_load_explicit(&rt->closing, memory_order_relaxed) ? ZYNTAX_ECLOSED
                                                                     : reserve(rt, w->fd);
  if (rc == 0) {
    zyntax_fd_watch *old = rt->watches[w->fd];
    if (old != NULL) end_watch(old, ZYNTAX_EBADF);
    rt->watches[w->fd] = w;
  }
  pthread_mutex_unlock(&rt->watch_lock);
  return rc;
}

/* The duplicate and the backend's registration of it. */
static int open_impl(zyntax_fd_watch *w) {
  w->own = fcntl(w->fd, F_DUPFD_CLOEXEC, 0);
  if (w->own < 0)
    return zx_fail(NULL, ZYNTAX_EBADF, "zyntax_fd_watch_open: fd %d: %s",
                   w->fd, errno == EBADF ? "not open" : "no descriptor left to duplicate it");
  zyntax_runtime *rt = w->rt;
  int rc = w->native ? rt->backend->fd_watch_open(rt->impl, w->own, &w->impl)
                     : zx_fd_watch_fallback_open(rt, w->own, &w->impl);
  if (rc == 0) return 0;
  close(w->own);
  return zx_fail(NULL, rc, "zyntax_fd_watch_open: fd %d: %s", w->fd,
                 rc == ZYNTAX_EBADF ? "a file epoll cannot watch" : zyntax_strerror(rc));
}

int zyntax_fd_watch_open(zyntax_runtime *rt, int fd, zyntax_fd_watch **out) {
  if (out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  *out = NULL;
  if (rt == NULL || fd < 0) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  int rc = zx_check_open(rt, __func__);
  if (rc == 0) rc = thread_check(rt, __func__);
  if (rc != 0) return rc;
  zyntax_fd_watch *w = calloc(1, sizeof *w);
  if (w == NULL) return zx_fail_code(__func__, ZYNTAX_ENOMEM);
  *w = (zyntax_fd_watch){.rt = rt, .backend = rt->backend, .fd = fd,
                         .native = has_entries(rt->backend),
                         .in_place = polls_in_place(rt->backend)};
  if ((rc = open_impl(w)) != 0) {
    free(w);
    return rc;
  }
  if ((rc = file_watch(w)) != 0) {
    pthread_mutex_lock(&rt->watch_lock);
    end_watch(w, ZYNTAX_ECLOSED);
    pthread_mutex_unlock(&rt->watch_lock);
    free_watch(w);
    return zx_fail_code(__func__, rc);
  }
  *out = w;
  return 0;
}

int zyntax_fd_watch_wait_future(zyntax_fd_watch *w, unsigned events,
                                zyntax_future **out) {
  unsigned all = ZYNTAX_READABLE | ZYNTAX_WRITABLE;
  if (out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  *out = NULL;
  if (w == NULL || events == 0 || (events & ~all) != 0)
    return zx_fail_code(__func__, ZYNTAX_EINVAL);
  int ended = atomic_load_explicit(&w->ended, memory_order_acquire);
  if (ended != 0) /* displaced, or its runtime destroyed (maybe freed) */
    return zx_fail(NULL, ended, "%s: %s", __func__,
                   ended == ZYNTAX_EBADF ? "the watch was displaced by another watch on its fd"
                                         : "the watch's runtime was destroyed");
  zyntax_runtime *rt = w->rt;
  int rc = zx_check_open(rt, __func__);
  if (rc != 0) return rc;
  zyntax_future *f = NULL;
  rc = make_wait(w, events, &f);
  if (rc != 0) return zx_fail_code(__func__, rc);
  *out = f;
  return 0;
}

/* zyntax_fd_watch_poll on the loader's side: the wait is a wait future of
 * the watch's own, made when a wait starts and dropped when it ends. */
static zyntax_poll poll_kept(zyntax_fd_watch *w, unsigned events,
                             const zyntax_waker *waker, int *result) {
  if (w->kept != NULL && w->kept_events != events) drop_kept(w);
  if (w->kept == NULL) {
    int rc = make_wait(w, events, &w->kept);
    if (rc != 0) {
      w->kept = NULL;
      *result = zx_fail_code("zyntax_fd_watch_poll", rc);
      return ZYNTAX_READY;
    }
    w->kept_events = events;
  }
  if (zyntax_future_poll(w->kept, waker, result) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  drop_kept(w);
  return ZYNTAX_READY;
}

/* zyntax_fd_watch_poll but for its one common case (the loader's own
 * wait, an ended watch or runtime, bad arguments): out of line, so the
 * common case saves no registers. */
__attribute__((noinline, cold)) static zyntax_poll
poll_other(zyntax_fd_watch *w, unsigned events, const zyntax_waker *waker, int *result) {
  const char *func = "zyntax_fd_watch_poll";
  unsigned all = ZYNTAX_READABLE | ZYNTAX_WRITABLE;
  if (result == NULL) {
    zx_fail_code(func, ZYNTAX_EINVAL);
    return ZYNTAX_READY;
  }
  if (w == NULL || waker == NULL || events == 0 || (events & ~all) != 0) {
    *result = zx_fail_code(func, ZYNTAX_EINVAL);
    return ZYNTAX_READY;
  }
  /* A wait future of an ended watch completes with its reason, which is
   * not a failure of the call: not recorded. */
  int ended = atomic_load_explicit(&w->ended, memory_order_acquire);
  if (ended != 0) {
    drop_kept(w);
    *result = ended;
    return ZYNTAX_READY;
  }
  if (!zx_runtime_open(w->rt)) {
    *result = zx_check_open(w->rt, func); /* a wait kept stays: destroy drops it */
    return ZYNTAX_READY;
  }
  return poll_kept(w, events, waker, result);
}

zyntax_poll zyntax_fd_watch_poll(zyntax_fd_watch *w, unsigned events,
                                 const zyntax_waker *waker, int *result) {
  unsigned all = ZYNTAX_READABLE | ZYNTAX_WRITABLE;
  if (__builtin_expect(w == NULL || waker == NULL || result == NULL || events == 0 ||
                           (events & ~all) != 0 || !w->in_place ||
                           atomic_load_explicit(&w->ended, memory_order_acquire) != 0 ||
                           !zx_runtime_open(w->rt),
                       0))
    return poll_other(w, events, waker, result);
  int rc = w->backend->fd_watch_poll(w->impl, events, waker);
  if (rc == 0) return ZYNTAX_PENDING;
  *result = rc;
  return ZYNTAX_READY;
}

/* Ends zyntax_fd_watch_poll's wait in flight, waking nobody (the watch is
 * open). */
static void end_wait_in_place(zyntax_fd_watch *w) {
  if (w->in_place)
    w->backend->fd_watch_poll(w->impl, 0, NULL);
  else
    drop_kept(w);
}

/* Closes `w` unless destroy or a displacement did; returns how it ended.
 * The backend's close (an epoll_ctl) and close(2) run outside watch_lock:
 * tasks closing their watches on several workers at once would otherwise
 * queue behind each other's system calls on the one lock. Out of the
 * table, `w` is reached by no displacement and no close_all; the
 * runtime's destroy waits for closes under way (zx_fd_watch_close_all). */
static int close_open(zyntax_fd_watch *w) {
  zyntax_runtime *rt = w->rt;
  pthread_mutex_lock(&rt->watch_lock);
  int ended = atomic_load_explicit(&w->ended, memory_order_relaxed);
  if (ended == 0) {
    rt->watches[w->fd] = NULL;
    atomic_fetch_add_explicit(&rt->watch_closes, 1, memory_order_relaxed);
  }
  pthread_mutex_unlock(&rt->watch_lock);
  if (ended != 0) return ended;
  end_watch(w, ZYNTAX_ECLOSED);
  /* Release: the destroy waiting for this sees the backend's close done. */
  atomic_fetch_sub_explicit(&rt->watch_closes, 1, memory_order_release);
  return 0;
}

int zyntax_fd_watch_destroy(zyntax_fd_watch *w) {
  if (w == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  int ended = atomic_load_explicit(&w->ended, memory_order_acquire);
  if (ended == 0) { /* its runtime exists: a destroy would have ended it */
    int rc = zx_check_forked(w->rt, __func__);
    if (rc == 0) rc = thread_check(w->rt, __func__);
    if (rc != 0) return rc;
    end_wait_in_place(w); /* without a wake: its task is the one destroying */
    ended = close_open(w);
  }
  free_watch(w);
  if (ended == ZYNTAX_EBADF)
    return zx_fail(NULL, ZYNTAX_EBADF, "%s: the watch had been displaced by "
                   "another watch on its fd (closed and reused, or watched twice)",
                   __func__);
  return 0;
}

void zx_fd_watch_close_all(zyntax_runtime *rt) {
  pthread_mutex_lock(&rt->watch_lock);
  for (size_t fd = 0; fd < rt->nwatches; fd++) {
    if (rt->watches[fd] == NULL) continue;
    end_watch(rt->watches[fd], ZYNTAX_ECLOSED);
    rt->watches[fd] = NULL;
  }
  free(rt->watches);
  rt->watches = NULL;
  rt->nwatches = 0;
  pthread_mutex_unlock(&rt->watch_lock);
  /* A task's destroy that took its watch out before the lock above may
   * still be in the backend's close, which needs the backend's runtime.
   * No new one starts (every watch left is ended), and one takes a few
   * microseconds, so a yielding wait is enough. */
  while (atomic_load_explicit(&rt->watch_closes, memory_order_acquire) != 0) sched_yield();
}
