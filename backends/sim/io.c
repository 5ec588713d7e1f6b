/* fd readiness under simulation: real fds, asked with poll(2). Started waits
 * are kept in start order; every loop turn polls all of them at once (plus
 * the signal eventfd), without blocking while anything virtual is pending
 * (runtime.c decides the timeout), and wakes the ready ones - in start
 * order, or shuffled and partly held back for a turn when
 * ZYNTAX_SIM_REORDER_READY is set (poll(2) is level-triggered: an event
 * held back is seen again next turn).
 *
 * As on the other backends: a file epoll cannot watch (regular file,
 * directory, /dev/null) or a closed fd completes with ZYNTAX_EBADF at the
 * first poll, and a new wait on an fd number whose file changed completes
 * the stale waits on it with ZYNTAX_EBADF. */
#include <poll.h>
#include <stdalign.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "leaf.h"
#include "sim.h"

struct sim_fdwait {
  zyntax_future base; /* first */
  sim_runtime *rt;
  int fd;
  unsigned want;
  unsigned ready; /* set when delivered (driving thread) */
  int error;
  int started; /* on rt's list */
  zx_fdid id;
  zyntax_waker waker;
  sim_link link; /* on rt->waits while started */
  uint8_t cls;
};

/* ---- the list of started waits ---- */

static sim_fdwait *wait_of(sim_link *l) { return SIM_OF(l, sim_fdwait, link); }

static void unlink_wait(sim_runtime *s, sim_fdwait *f) {
  sim_list_remove(&s->waits, &f->link);
  f->started = 0;
}

/* Stops `f` and completes it: `error`, or the events in `ready`. */
static void deliver(sim_fdwait *f, int error, unsigned ready) {
  unlink_wait(f->rt, f);
  f->error = error;
  f->ready = ready;
  zyntax_waker_wake(&f->waker);
}

static void fail_stale(sim_runtime *s, int fd, zx_fdid id) {
  for (sim_link *l = s->waits.head, *next; l != NULL; l = next) {
    next = l->next;
    sim_fdwait *f = wait_of(l);
    if (f->fd == fd && !zx_fdid_same(f->id, id)) deliver(f, ZYNTAX_EBADF, 0);
  }
}

/* Room for `need` entries in poll(2)'s array. 0 or ZYNTAX_ENOMEM. */
int sim_io_reserve(sim_runtime *s, size_t need) {
  if (need <= s->pfds_cap) return 0;
  size_t cap = s->pfds_cap ? s->pfds_cap : 16;
  while (cap < need) cap *= 2;
  struct pollfd *p = realloc(s->pfds, cap * sizeof *p);
  if (p == NULL) return ZYNTAX_ENOMEM;
  s->pfds = p;
  sim_fdwait **r = realloc(s->ready, cap * sizeof *r);
  if (r == NULL) return ZYNTAX_ENOMEM;
  s->ready = r;
  s->pfds_cap = cap;
  return 0;
}

/* Starts the wait; 0, or the future's result when it cannot. */
static int start(zyntax_future *base) {
  sim_fdwait *f = (sim_fdwait *)base;
  struct stat st;
  if (fstat(f->fd, &st) != 0 || !zx_fd_watchable(f->fd, &st, &f->rt->probe_fd))
    return ZYNTAX_EBADF;
  /* poll(2)'s array has room for every started wait: the loop never
   * allocates, and a wait that cannot have room fails here. */
  if (sim_io_reserve(f->rt, f->rt->waits.n + 2) != 0) return ZYNTAX_ENOMEM;
  f->id = zx_fdid_of(&st);
  fail_stale(f->rt, f->fd, f->id);
  sim_list_append(&f->rt->waits, &f->link);
  f->started = 1;
  zx_count(&f->rt->ex.stats.io_waits);
  return 0;
}

/* ---- polling ---- */

/* The events a wait sees in `revents`: an error or hang-up counts as every
 * event it asked for (the next read or write reports it), as on libuv. */
static unsigned events_of(const sim_fdwait *f, short revents) {
  if (revents & (POLLERR | POLLHUP)) return f->want;
  unsigned got = ((revents & POLLIN) ? ZYNTAX_READABLE : 0u) |
                 ((revents & POLLOUT) ? ZYNTAX_WRITABLE : 0u);
  return got & f->want;
}

static void drain_signal(sim_runtime *s) {
  uint64_t count;
  ssize_t n = read(s->signal_fd, &count, sizeof count);
  (void)n;
}

/* Wakes the ready waits collected in s->ready[0..n), shuffled and some
 * held back a turn under ZYNTAX_SIM_REORDER_READY. Returns how many. */
static int deliver_ready(sim_runtime *s, size_t n) {
  unsigned pct = s->cfg.reorder_ready;
  if (pct != 0)
    for (size_t i = n; i > 1; i--) { /* Fisher-Yates */
      size_t j = (size_t)sim_rng_below(s, i);
      sim_fdwait *tmp = s->ready[i - 1];
      s->ready[i - 1] = s->ready[j];
      s->ready[j] = tmp;
    }
  int delivered = 0;
  for (size_t i = 0; i < n; i++) {
    sim_fdwait *f = s->ready[i];
    if (pct != 0 && sim_rng_percent(s, pct)) continue; /* next turn */
    deliver(f, f->error, f->ready);
    delivered++;
  }
  return delivered;
}

int sim_io_poll(sim_runtime *s, int timeout_ms) {
  size_t n = 1; /* room for all: sim_io_reserve at create and each start */
  s->pfds[0] = (struct pollfd){.fd = s->signal_fd, .events = POLLIN};
  for (sim_link *l = s->waits.head; l != NULL; l = l->next) {
    sim_fdwait *f = wait_of(l);
    short ev = (short)(((f->want & ZYNTAX_READABLE) ? POLLIN : 0) |
                       ((f->want & ZYNTAX_WRITABLE) ? POLLOUT : 0));
    s->pfds[n++] = (struct pollfd){.fd = f->fd, .events = ev};
  }
  int got = poll(s->pfds, (nfds_t)n, timeout_ms);
  if (got <= 0) return 0;
  int events = 0;
  if (s->pfds[0].revents) {
    drain_signal(s);
    events++;
  }
  /* Collect first: delivering unlinks waits (and a wake may start none:
   * wakes only queue tasks), so the list is walked once, unchanged. */
  size_t nready = 0, i = 1;
  for (sim_link *l = s->waits.head; l != NULL && i < n; l = l->next, i++) {
    sim_fdwait *f = wait_of(l);
    short rev = s->pfds[i].revents;
    if (rev == 0) continue;
    f->error = (rev & POLLNVAL) ? ZYNTAX_EBADF : 0;
    f->ready = f->error ? 0 : events_of(f, rev);
    if (f->error || f->ready) s->ready[nready++] = f;
  }
  return events + deliver_ready(s, nready);
}

void sim_io_detach_all(sim_runtime *s) {
  while (s->waits.head != NULL) deliver(wait_of(s->waits.head), ZYNTAX_ECLOSED, 0);
  free(s->pfds);
  free(s->ready);
  s->pfds = NULL;
  s->ready = NULL;
  s->pfds_cap = 0;
  if (s->probe_fd >= 0) close(s->probe_fd);
  s->probe_fd = -1;
}

/* ---- the future ---- */

/* A wait delivered is unlinked; one held back a turn (reordered) is not
 * done yet, though its events are noted. */
static zyntax_poll fdwait_poll(zyntax_future *base, const zyntax_waker *waker) {
  sim_fdwait *f = (sim_fdwait *)base;
  int outcome = f->started || !(f->error || f->ready) ? ZYNTAX_NOT_FINISHED
                : f->error                           ? f->error
                                                     : (int)f->ready;
  return zx_leaf_poll_started(base, &f->rt->ex, outcome, f->started, start,
                              &f->waker, waker);
}

/* After destroy `started` is 0: sim_io_detach_all unlinked the wait. */
static void fdwait_drop(zyntax_future *base) {
  sim_fdwait *f = (sim_fdwait *)base;
  if (f->started) unlink_wait(f->rt, f);
  zyntax_waker_drop(&f->waker);
  zx_leaf_free(&f->rt->ex, f, f->cls); /* maybe the last block */
}

const zyntax_future_ops sim_fdwait_ops = ZYNTAX_FUTURE_OPS_INIT(fdwait_poll, fdwait_drop);

int sim_fd_wait(zyntax_backend_runtime *rt, int fd, unsigned events,
                zyntax_future **out) {
  sim_runtime *s = sim_from(rt);
  uint8_t cls;
  sim_fdwait *f = zx_leaf_alloc(&s->ex, sizeof *f, alignof(sim_fdwait), &cls);
  if (f == NULL) return ZYNTAX_ENOMEM;
  f->cls = cls;
  f->base = (zyntax_future){&sim_fdwait_ops, ZYNTAX_NOT_FINISHED};
  f->rt = s;
  f->fd = fd;
  f->want = events;
  *out = &f->base;
  return 0;
}
