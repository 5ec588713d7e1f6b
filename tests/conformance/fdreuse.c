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
#include <stdio.h>
#include <unistd.h>

#include "conformance.h"
#include "fdrace.h"

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
