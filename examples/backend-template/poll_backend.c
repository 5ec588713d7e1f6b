/* A complete Zyntax backend on poll(2), written from docs/backend-guide.md
 * against the installed tree only: <zyntax/backend.h> for the contract and
 * <zyntax/executor.h> (libzyntax-executor.a) for everything that is not the
 * loop. What is left for a loop to write is here: five loop ops, create
 * and destroy, and the fd-wait future. Copy it to start a backend.
 *
 * The loop: one poll(2) call per iteration over an eventfd (the executor's
 * cross-thread signal) and the fd of every started wait; its one timer is
 * a deadline turned into poll's timeout. poll(2) takes any number of
 * entries per fd, so each wait is one entry, and nothing is registered
 * with the kernel between iterations.
 *
 * Threads: everything runs on the driving thread except signal() (any
 * thread) and the blocking pool's threads (the executor's). */
#define _GNU_SOURCE
#include <limits.h>
#include <poll.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zyntax/backend.h>
#include <zyntax/executor.h>

#define NS_PER_MS 1000000u

typedef struct pb_wait pb_wait;

typedef struct pb_loop {
  zyntax_executor *ex;
  int wake_fd;      /* eventfd written by signal() */
  int probe_fd;     /* an epoll set asking whether a device can be watched */
  uint64_t timer_at; /* CLOCK_MONOTONIC ns; 0: not armed */
  pb_wait *waits;   /* started fd waits */
  size_t nwaits;
  struct pollfd *pfds; /* scratch of run_once, one slot per wait + 1 */
  pb_wait **slots;
  size_t cap;
} pb_loop;

/* A fd wait: a leaf future in the executor's arena, so it may outlive the
 * runtime (backend.h, runtime_destroy step 3). */
struct pb_wait {
  zyntax_future base; /* first */
  pb_loop *loop;
  int fd;
  unsigned want;
  unsigned ready;
  int error;
  int started; /* on loop->waits */
  dev_t dev;   /* the file the fd named when the wait started */
  ino_t ino;
  pb_wait *prev, *next;
  zyntax_waker waker;
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the started waits ---- */

static void unlink_wait(pb_wait *w) {
  pb_loop *l = w->loop;
  if (w->prev) w->prev->next = w->next;
  else l->waits = w->next;
  if (w->next) w->next->prev = w->prev;
  w->prev = w->next = NULL;
  w->started = 0;
  l->nwaits--;
}

/* Completes a started wait: its result is read by its next poll. */
static void complete(pb_wait *w, unsigned ready, int error) {
  unlink_wait(w);
  w->ready = ready;
  w->error = error;
  zyntax_waker_wake(&w->waker);
}

/* Sockets and pipes can be watched; regular files and directories cannot
 * (poll(2) would call them always ready; the contract says EBADF); a
 * device is asked to an epoll set, as libuv asks its loop. */
static int watchable(pb_loop *l, int fd, const struct stat *st) {
  if (S_ISSOCK(st->st_mode) || S_ISFIFO(st->st_mode)) return 1;
  if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) return 0;
  if (l->probe_fd < 0) l->probe_fd = epoll_create1(EPOLL_CLOEXEC);
  if (l->probe_fd < 0) return 1; /* cannot tell: let poll(2) decide */
  struct epoll_event e = {.events = EPOLLIN, .data = {.fd = fd}};
  if (epoll_ctl(l->probe_fd, EPOLL_CTL_ADD, fd, &e) != 0) return 0;
  epoll_ctl(l->probe_fd, EPOLL_CTL_DEL, fd, &e);
  return 1;
}

/* Starts watching; 0, or the wait's result when it cannot. A wait on the
 * same number started on another file (closed meanwhile, its number
 * reused) is stale: it completes with EBADF. */
static int start(pb_wait *w) {
  pb_loop *l = w->loop;
  struct stat st;
  if (fstat(w->fd, &st) != 0 || !watchable(l, w->fd, &st)) return ZYNTAX_EBADF;
  for (pb_wait *o = l->waits, *next; o != NULL; o = next) {
    next = o->next;
    if (o->fd == w->fd && (o->dev != st.st_dev || o->ino != st.st_ino))
      complete(o, 0, ZYNTAX_EBADF);
  }
  w->dev = st.st_dev;
  w->ino = st.st_ino;
  w->next = l->waits;
  if (l->waits) l->waits->prev = w;
  l->waits = w;
  l->nwaits++;
  w->started = 1;
  zyntax_executor_count_io_wait(l->ex);
  return 0;
}

/* ---- the fd-wait future ---- */

static zyntax_poll fdwait_poll(zyntax_future *f, const zyntax_waker *waker) {
  pb_wait *w = (pb_wait *)f;
  if (zyntax_executor_leaf_refuse(w->loop->ex, f)) return ZYNTAX_READY;
  if (w->error || w->ready) {
    f->result = w->error ? w->error : (int)w->ready;
    return ZYNTAX_READY;
  }
  if (!w->started) {
    int rc = start(w);
    if (rc != 0) {
      f->result = rc;
      return ZYNTAX_READY;
    }
  }
  zyntax_waker_store(&w->waker, waker);
  return ZYNTAX_PENDING;
}

/* After destroy `started` is 0 (destroy completed it): no loop touched. */
static void fdwait_drop(zyntax_future *f) {
  pb_wait *w = (pb_wait *)f;
  zyntax_executor *ex = w->loop->ex;
  if (w->started) unlink_wait(w);
  zyntax_waker_drop(&w->waker);
  zyntax_executor_leaf_free(ex, w, sizeof *w, alignof(pb_wait)); /* maybe the last */
}

static const zyntax_future_ops pb_fdwait_ops = ZYNTAX_FUTURE_OPS_INIT(fdwait_poll, fdwait_drop);

static int pb_fd_wait(zyntax_backend_runtime *rt, int fd, unsigned events,
                      zyntax_future **out) {
  zyntax_executor *ex = zyntax_executor_from(rt);
  pb_wait *w = zyntax_executor_leaf_alloc(ex, sizeof *w, alignof(pb_wait));
  if (w == NULL) return ZYNTAX_ENOMEM;
  w->base = (zyntax_future){&pb_fdwait_ops, ZYNTAX_NOT_FINISHED};
  w->loop = zyntax_executor_loop(ex);
  w->fd = fd;
  w->want = events;
  *out = &w->base;
  return 0; /* started at its first poll, on the driving thread */
}

/* ---- the loop ops ---- */

static void loop_signal(void *loop) {
  uint64_t one = 1;
  ssize_t n = write(((pb_loop *)loop)->wake_fd, &one, sizeof one);
  (void)n; /* EAGAIN: the counter is non-zero, so poll wakes anyway */
}

/* Callbacks run after poll() returned, so nothing queued by them can meet
 * a blocking wait in the same iteration: nothing to do. */
static void loop_interrupt(void *loop) { (void)loop; }

static void loop_timer_arm(void *loop, uint64_t ms) {
  ((pb_loop *)loop)->timer_at = now_ns() + ms * NS_PER_MS;
}

static void loop_free(void *loop) {
  pb_loop *l = loop;
  free(l->pfds);
  free(l->slots);
  free(l);
}

static int timeout_ms(const pb_loop *l, int block) {
  if (!block) return 0;
  if (l->timer_at == 0) return -1;
  uint64_t now = now_ns();
  if (now >= l->timer_at) return 0;
  uint64_t ms = (l->timer_at - now + NS_PER_MS - 1) / NS_PER_MS;
  return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int reserve(pb_loop *l, size_t n) {
  if (n <= l->cap) return 0;
  size_t cap = l->cap ? l->cap * 2 : 16;
  while (cap < n) cap *= 2;
  struct pollfd *p = realloc(l->pfds, cap * sizeof *p);
  if (p != NULL) l->pfds = p;
  pb_wait **s = realloc(l->slots, cap * sizeof *s);
  if (s != NULL) l->slots = s;
  if (p == NULL || s == NULL) return -1;
  l->cap = cap;
  return 0;
}

static unsigned ready_events(const pb_wait *w, short revents) {
  /* An error or hang-up is readiness for whatever was asked: the next
   * read or write reports it, as epoll-based loops do. */
  if (revents & (POLLERR | POLLHUP)) return w->want;
  return ((revents & POLLIN) ? ZYNTAX_READABLE : 0u) |
         ((revents & POLLOUT) ? ZYNTAX_WRITABLE : 0u);
}

static void loop_run_once(void *loop, int block) {
  pb_loop *l = loop;
  size_t n = 1 + l->nwaits;
  if (reserve(l, n) != 0) n = 1; /* out of memory: timers and wakes only */
  l->pfds[0] = (struct pollfd){.fd = l->wake_fd, .events = POLLIN};
  size_t i = 1;
  for (pb_wait *w = l->waits; w != NULL && i < n; w = w->next, i++) {
    short ev = (short)(((w->want & ZYNTAX_READABLE) ? POLLIN : 0) |
                       ((w->want & ZYNTAX_WRITABLE) ? POLLOUT : 0));
    l->pfds[i] = (struct pollfd){.fd = w->fd, .events = ev};
    l->slots[i] = w;
  }
  if (poll(l->pfds, n, timeout_ms(l, block)) < 0) return; /* EINTR: next turn */
  if (l->pfds[0].revents) {
    uint64_t count;
    ssize_t r = read(l->wake_fd, &count, sizeof count);
    (void)r;
  }
  if (l->timer_at != 0 && now_ns() >= l->timer_at) {
    l->timer_at = 0;
    zyntax_executor_timer_fired(l->ex); /* may re-arm */
  }
  for (i = 1; i < n; i++) {
    short re = l->pfds[i].revents;
    if (re == 0) continue;
    pb_wait *w = l->slots[i];
    if (!w->started) continue; /* completed as stale above */
    if (re & POLLNVAL) complete(w, 0, ZYNTAX_EBADF);
    else if (ready_events(w, re) != 0) complete(w, ready_events(w, re), 0);
  }
}

static const zyntax_executor_loop_ops pb_loop_ops = {
    .size = sizeof(zyntax_executor_loop_ops),
    .signal = loop_signal,
    .run_once = loop_run_once,
    .interrupt = loop_interrupt,
    .timer_arm = loop_timer_arm,
    .free = loop_free,
};

/* ---- runtime_create / runtime_destroy ---- */

static int pb_create(const zyntax_backend_host *host, const zyntax_runtime_options *opts,
                     zyntax_backend_runtime **out, zyntax_error *err) {
  (void)err;
  pb_loop *l = calloc(1, sizeof *l);
  if (l == NULL) return ZYNTAX_ENOMEM;
  l->probe_fd = -1;
  l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (l->wake_fd < 0) {
    free(l);
    return ZYNTAX_EBACKEND;
  }
  int rc = zyntax_executor_create(host, opts, &pb_loop_ops, l, &l->ex);
  if (rc != 0) {
    close(l->wake_fd);
    free(l);
    return rc;
  }
  *out = zyntax_executor_runtime(l->ex);
  return 0;
}

/* The order of backend.h's runtime_destroy: the executor cancels the
 * tasks (their drops drop their fd waits) and waits for blocking jobs;
 * then the waits still armed - futures kept outside any task - are
 * detached; then the loop's fds close. The loop's memory goes with the
 * executor's last block (loop_free). */
static void pb_destroy(zyntax_backend_runtime *rt) {
  zyntax_executor *ex = zyntax_executor_from(rt);
  pb_loop *l = zyntax_executor_loop(ex);
  zyntax_executor_shutdown(ex);
  while (l->waits != NULL) complete(l->waits, 0, ZYNTAX_ECLOSED);
  close(l->wake_fd);
  if (l->probe_fd >= 0) close(l->probe_fd);
  zyntax_executor_unref(ex);
}

/* ---- the table ---- */

static const zyntax_future_ops *const pb_future_ops[] = {ZYNTAX_EXECUTOR_FUTURE_OPS,
                                                         &pb_fdwait_ops, NULL};

/* No host-loop entries (optional): zyntax_runtime_poll_fd and its
 * siblings report ZYNTAX_EUNSUPPORTED on this backend. */
ZYNTAX_BACKEND_DEFINE("poll", "poll(2) template 1.0",
    ZYNTAX_EXECUTOR_ENTRIES,
    .future_ops = pb_future_ops,
    .runtime_create = pb_create,
    .runtime_destroy = pb_destroy,
    .fd_wait = pb_fd_wait)
