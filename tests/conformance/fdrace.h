/* Helpers of the fd groups (fdreuse.c, fdwatch.c): an fd wait - plain or a
 * watch's - raced against a sleep, so that a starving wait fails the test
 * instead of hanging it; sockets at a chosen number; a check that the
 * runtime sleeps (no spinning loop) while a wait stays pending. "Stays
 * pending" checks can only pass wrongly on a slow machine, never fail. */
#ifndef ZYNTAX_TESTS_FDRACE_H
#define ZYNTAX_TESTS_FDRACE_H

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conformance.h"

#define TIMED_OUT 0 /* never a wait's result: > 0 ready, < 0 an error */
#define LONG_MS 10000u
#define QUIET_MS 100u

/* The wait (on `watch` when set, else on `fd`) raced against a sleep of
 * `ms`. With `in_place`, the wait is the watch's own, polled by
 * zyntax_fd_watch_poll; else a wait future. */
typedef struct race {
  int fd;
  zyntax_fd_watch *watch;
  unsigned events;
  uint64_t ms;
  zyntax_future *wait, *limit;
  int result;
  int in_place;
  int polls; /* of the wait */
} race;

static inline int race_make_wait(race *r, zyntax_runtime *rt) {
  if (r->in_place) return 0;
  if (r->watch != NULL) return zyntax_fd_watch_wait_future(r->watch, r->events, &r->wait);
  return zyntax_fd_wait_future(rt, r->fd, r->events, &r->wait);
}

static inline zyntax_poll race_poll_wait(race *r, const zyntax_waker *waker, int *rc) {
  r->polls++;
  if (r->in_place) return zyntax_fd_watch_poll(r->watch, r->events, waker, rc);
  return zyntax_future_poll(r->wait, waker, rc);
}

static inline zyntax_poll race_poll(void *state, const zyntax_waker *waker) {
  race *r = state;
  zyntax_runtime *rt = zyntax_runtime_current();
  if (r->limit == NULL) {
    if ((r->wait == NULL && race_make_wait(r, rt) != 0) ||
        zyntax_sleep_future(rt, r->ms * 1000000u, &r->limit) != 0) {
      r->result = INT_MIN;
      return ZYNTAX_READY;
    }
  }
  int rc;
  if (race_poll_wait(r, waker, &rc) == ZYNTAX_READY) {
    r->result = rc;
    return ZYNTAX_READY;
  }
  if (zyntax_future_poll(r->limit, waker, &rc) == ZYNTAX_READY) {
    r->result = TIMED_OUT;
    return ZYNTAX_READY;
  }
  return ZYNTAX_PENDING;
}

/* Drives `r` to its end; the wait is dropped either way (a timed-out one
 * while still pending). Returns its result, or TIMED_OUT. */
static inline int race_run(zyntax_runtime *rt, race *r) {
  assert_int_equal(zyntax_runtime_block_on_future(rt, r, race_poll), 0);
  zyntax_future_drop(r->wait);
  zyntax_future_drop(r->limit);
  assert_int_not_equal(r->result, INT_MIN);
  return r->result;
}

/* A plain wait's result, or TIMED_OUT. */
static inline int wait_for(zyntax_runtime *rt, int fd, unsigned events, uint64_t ms) {
  race r = {.fd = fd, .events = events, .ms = ms};
  return race_run(rt, &r);
}

/* A watch wait's result, or TIMED_OUT. */
static inline int watch_wait_for(zyntax_runtime *rt, zyntax_fd_watch *w,
                                 unsigned events, uint64_t ms) {
  race r = {.fd = -1, .watch = w, .events = events, .ms = ms};
  return race_run(rt, &r);
}

/* The result of the watch's wait in place, or TIMED_OUT (the wait then
 * stays in flight in the watch). */
static inline int watch_poll_for(zyntax_runtime *rt, zyntax_fd_watch *w,
                                 unsigned events, uint64_t ms) {
  race r = {.fd = -1, .watch = w, .events = events, .ms = ms, .in_place = 1};
  return race_run(rt, &r);
}

/* A socketpair whose first end has the number `n` (usually it takes the
 * lowest free number anyway); returns the peer. */
static inline int socket_at(int n) {
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  if (sv[0] != n) {
    assert_int_equal(dup2(sv[0], n), n);
    close(sv[0]);
  }
  return sv[1];
}

/* A plain wait on `fd` that completes: readable, what was written is
 * there. */
static inline void expect_readable(zyntax_runtime *rt, int fd, int peer) {
  assert_int_equal(write(peer, "y", 1), 1);
  assert_int_equal(wait_for(rt, fd, ZYNTAX_READABLE, LONG_MS), ZYNTAX_READABLE);
  char c = 0;
  assert_int_equal(read(fd, &c, 1), 1);
  assert_int_equal(c, 'y');
}

/* A free number, for socket A. */
static inline int free_number(void) {
  int n = fcntl(0, F_DUPFD_CLOEXEC, 3);
  assert_true(n >= 0);
  close(n);
  return n;
}

/* How long the process's threads ran on a CPU, in microseconds
 * (/proc/self/task/N/schedstat: the first field, ns); 0 when the kernel
 * does not tell. Not the time spent waiting in a run queue as well: on an
 * overloaded machine every wake-up of a quiet runtime's threads waits
 * there for milliseconds, and a quiet wait would look busy. A spinning
 * loop still gets at least its share of a CPU (a tenth of the window at a
 * load of 20 on two CPUs), which the bound below catches. */
static inline uint64_t cpu_us(void) {
  DIR *d = opendir("/proc/self/task");
  if (d == NULL) return 0;
  uint64_t total = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (e->d_name[0] == '.') continue;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%.20s/schedstat", e->d_name);
    FILE *f = fopen(path, "re");
    unsigned long long run = 0;
    if (f != NULL && fscanf(f, "%llu", &run) == 1) total += run / 1000u;
    if (f != NULL) fclose(f);
  }
  closedir(d);
  return total;
}

/* How much CPU a quiet wait costs the process where nothing can
 * spin: a fresh runtime, a fresh socket with nothing to read (measured
 * once per file). About a millisecond in a plain build; under valgrind,
 * whose threads wait for its one lock, most of the window. */
static inline uint64_t quiet_reference_us(void) {
  static uint64_t ref = UINT64_MAX;
  if (ref != UINT64_MAX) return ref;
  zyntax_runtime *rt = new_runtime();
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  race r = {.fd = sv[0], .events = ZYNTAX_READABLE, .ms = QUIET_MS};
  uint64_t before = cpu_us();
  assert_int_equal(race_run(rt, &r), TIMED_OUT);
  ref = cpu_us() - before;
  end_runtime(rt);
  close(sv[0]);
  close(sv[1]);
  return ref;
}

/* Runs `r` (its wait must stay pending: TIMED_OUT after QUIET_MS) and
 * checks the runtime slept meanwhile: a registration reporting a level
 * nobody waits for would wake the wait, or spin the loop - on a CPU for
 * the whole window on an idle machine, for its share of one on a busy
 * machine. Bound: a tenth of the window, plus twice the reference (slack
 * for an instrumented run; there the check says little). */
static inline void expect_quiet_race(zyntax_runtime *rt, race *r) {
  uint64_t bound = QUIET_MS * 1000u / 10 + 2 * quiet_reference_us();
  r->ms = QUIET_MS;
  uint64_t before = cpu_us();
  assert_int_equal(race_run(rt, r), TIMED_OUT);
  uint64_t spent = cpu_us() - before;
  if (spent >= bound)
    fprintf(stderr, "quiet wait: on a CPU for %llu us (bound %llu)\n",
            (unsigned long long)spent, (unsigned long long)bound);
  assert_true(spent < bound);
}

/* `fd` has nothing to read: a plain wait stays pending, quietly. */
static inline void expect_quiet(zyntax_runtime *rt, int fd) {
  race r = {.fd = fd, .events = ZYNTAX_READABLE};
  expect_quiet_race(rt, &r);
}

#endif
