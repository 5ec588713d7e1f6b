/* fd numbers closed and reused between waits. A backend may keep an fd's
 * registration across waits (the C backends do: backends/executor/
 * reactor.h), and the caller may close the fd once its wait is dropped.
 * epoll forgets a registration only when the last reference to the open
 * file description goes, so these are the cases a kept registration must
 * survive: the number reused by a new socket, by a file epoll cannot watch,
 * and the old description still open elsewhere (dup) - ready, under the
 * number that now names another socket. Each wait is raced against a sleep,
 * so a starving wait fails the test instead of hanging it; "stays pending"
 * checks can only pass wrongly on a slow machine, never fail. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conformance.h"

#define TIMED_OUT 0 /* never a wait's result: > 0 ready, < 0 an error */
#define LONG_MS 10000u
#define QUIET_MS 100u

/* The fd wait raced against a sleep of `ms`. */
typedef struct race {
  int fd;
  unsigned events;
  uint64_t ms;
  zyntax_future *wait, *limit;
  int result;
} race;

static zyntax_poll race_poll(void *state, const zyntax_waker *waker) {
  race *r = state;
  zyntax_runtime *rt = zyntax_runtime_current();
  if (r->wait == NULL) {
    if (zyntax_fd_wait_future(rt, r->fd, r->events, &r->wait) != 0 ||
        zyntax_sleep_future(rt, r->ms * 1000000u, &r->limit) != 0) {
      r->result = INT_MIN;
      return ZYNTAX_READY;
    }
  }
  int rc;
  if (zyntax_future_poll(r->wait, waker, &rc) == ZYNTAX_READY) {
    r->result = rc;
    return ZYNTAX_READY;
  }
  if (zyntax_future_poll(r->limit, waker, &rc) == ZYNTAX_READY) {
    r->result = TIMED_OUT;
    return ZYNTAX_READY;
  }
  return ZYNTAX_PENDING;
}

/* The wait's result, or TIMED_OUT; the wait is dropped either way (a
 * timed-out one while still pending). */
static int wait_for(zyntax_runtime *rt, int fd, unsigned events, uint64_t ms) {
  race r = {.fd = fd, .events = events, .ms = ms};
  assert_int_equal(zyntax_runtime_block_on_future(rt, &r, race_poll), 0);
  zyntax_future_drop(r.wait);
  zyntax_future_drop(r.limit);
  assert_int_not_equal(r.result, INT_MIN);
  return r.result;
}

/* A socketpair whose first end has the number `n` (usually it takes the
 * lowest free number anyway); returns the peer. */
static int socket_at(int n) {
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  if (sv[0] != n) {
    assert_int_equal(dup2(sv[0], n), n);
    close(sv[0]);
  }
  return sv[1];
}

/* A wait on `fd` that completes: readable, what was written is there. */
static void expect_readable(zyntax_runtime *rt, int fd, int peer) {
  assert_int_equal(write(peer, "y", 1), 1);
  assert_int_equal(wait_for(rt, fd, ZYNTAX_READABLE, LONG_MS), ZYNTAX_READABLE);
  char c = 0;
  assert_int_equal(read(fd, &c, 1), 1);
  assert_int_equal(c, 'y');
}

static uint64_t cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
         (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* `fd` has nothing to read: its wait stays pending, and the runtime sleeps
 * meanwhile (a leftover registration reporting the old file's readiness
 * would wake the wait, or spin the loop: most of QUIET_MS in CPU). */
static void expect_quiet(zyntax_runtime *rt, int fd) {
  uint64_t cpu = cpu_us();
  assert_int_equal(wait_for(rt, fd, ZYNTAX_READABLE, QUIET_MS), TIMED_OUT);
  uint64_t spent = cpu_us() - cpu;
  if (spent >= QUIET_MS * 1000u / 2) fprintf(stderr, "quiet wait used %llu us of CPU\n",
                                             (unsigned long long)spent);
  assert_true(spent < QUIET_MS * 1000u / 2);
}

/* A free number, for socket A. */
static int free_number(void) {
  int n = fcntl(0, F_DUPFD_CLOEXEC, 3);
  assert_true(n >= 0);
  close(n);
  return n;
}

/* Keeps socket `n`'s open file description under another number (*old),
 * closes `n` and puts a new socket there; returns the new one's peer. */
static int reuse_keeping_the_old(int n, int *old) {
  *old = dup(n);
  assert_true(*old >= 0);
  close(n);
  return socket_at(n);
}

/* Socket A at a free number *n, after a wait on it completed (its
 * registration, if the backend keeps it, outlives the wait); A's peer. */
static int socket_waited_on(zyntax_runtime *rt, int *n) {
  *n = free_number();
  int peer = socket_at(*n);
  expect_readable(rt, *n, peer);
  return peer;
}

/* The new socket at `n` is quiet, then readable once its peer writes. */
static void expect_the_new_socket(zyntax_runtime *rt, int n, int peer) {
  expect_quiet(rt, n);
  expect_readable(rt, n, peer);
}

static void close_four(int a, int b, int c, int d) {
  close(a);
  close(b);
  close(c);
  close(d);
}

/* A wait on socket A completes; A is closed, socket B takes its number: a
 * wait on B sees B, not A's old registration. */
static void a_number_closed_after_its_wait_and_reused(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  int n, peer = socket_waited_on(rt, &n);
  close(n);
  close(peer);
  peer = socket_at(n);
  expect_the_new_socket(rt, n, peer);
  end_runtime(rt);
  close(n);
  close(peer);
}

/* As above, but a dup of A keeps A's open file description alive, readable,
 * so an epoll registration of A under the number survives A's close. */
static void a_dup_keeps_the_old_description_ready(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  int n, peer = socket_waited_on(rt, &n);
  assert_int_equal(write(peer, "old", 3), 3); /* A stays readable */
  int old, fresh_peer = reuse_keeping_the_old(n, &old);
  expect_the_new_socket(rt, n, fresh_peer);
  /* The old description, under its other number, still works. */
  assert_int_equal(wait_for(rt, old, ZYNTAX_READABLE, LONG_MS), ZYNTAX_READABLE);
  end_runtime(rt);
  close_four(old, peer, n, fresh_peer);
}

/* A wait dropped while pending (its registration may stay armed), then the
 * dup / close / reuse of above, and A becomes ready afterwards. */
static void a_dropped_wait_then_the_number_reused(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  int n = free_number();
  int peer = socket_at(n);
  assert_int_equal(wait_for(rt, n, ZYNTAX_READABLE, 1), TIMED_OUT);
  int old, fresh_peer = reuse_keeping_the_old(n, &old);
  assert_int_equal(write(peer, "old", 3), 3); /* A ready only now */
  expect_the_new_socket(rt, n, fresh_peer);
  end_runtime(rt);
  close_four(old, peer, n, fresh_peer);
}

/* The number reused by a file epoll cannot watch: that wait fails with
 * EBADF (libuv would abort on epoll_ctl's EPERM), and a socket at the
 * number afterwards works again. */
static void a_number_reused_by_a_regular_file(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  int n, peer = socket_waited_on(rt, &n);
  close(n);
  close(peer);
  FILE *file = tmpfile();
  assert_non_null(file);
  assert_int_equal(dup2(fileno(file), n), n);
  assert_int_equal(wait_for(rt, n, ZYNTAX_READABLE, LONG_MS), ZYNTAX_EBADF);
  close(n);
  assert_int_equal(wait_for(rt, n, ZYNTAX_READABLE, LONG_MS), ZYNTAX_EBADF); /* closed */
  peer = socket_at(n);
  expect_readable(rt, n, peer);
  end_runtime(rt);
  fclose(file);
  close(n);
  close(peer);
}

TEST_GROUP(fdreuse_tests) = {
    cmocka_unit_test(a_number_closed_after_its_wait_and_reused),
    cmocka_unit_test(a_dup_keeps_the_old_description_ready),
    cmocka_unit_test(a_dropped_wait_then_the_number_reused),
    cmocka_unit_test(a_number_reused_by_a_regular_file),
};
const size_t fdreuse_count = GROUP_SIZE(fdreuse_tests);
