/* Edge cases where backends once disagreed, each with the one behaviour
 * the headers now document: fd kinds epoll cannot watch, an fd number
 * closed and reused under a pending wait, NULL result pointers, semaphore
 * overflow, a runtime future polled outside any task, and the lost wake
 * reported through ZYNTAX_LOG. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conformance.h"

/* ---- fds epoll cannot watch: EBADF at the first poll ---- */

typedef struct one_wait {
  int fd;
  await_slot slot;
} one_wait;

static int make_wait(void *arg, zyntax_future **out) {
  return zyntax_fd_wait_future(zyntax_runtime_current(), *(int *)arg,
                               ZYNTAX_READABLE | ZYNTAX_WRITABLE, out);
}

static zyntax_poll wait_poll(void *state, const zyntax_waker *waker) {
  one_wait *w = state;
  return await_future(&w->slot, make_wait, &w->fd, waker);
}

static int wait_result(zyntax_runtime *rt, int fd) {
  one_wait w = {fd, {NULL, 0}};
  assert_int_equal(zyntax_runtime_block_on_future(rt, &w, wait_poll), 0);
  return w.slot.result;
}

static void fd_wait_on_unwatchable_files_is_ebadf(void **state) {
  (void)state;
  char path[] = "/tmp/zyntax-edges-XXXXXX";
  int file = mkstemp(path);
  assert_true(file >= 0);
  unlink(path);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(null >= 0 && dir >= 0);
  zyntax_runtime *rt = new_runtime();
  assert_int_equal(wait_result(rt, file), ZYNTAX_EBADF);
  assert_int_equal(wait_result(rt, null), ZYNTAX_EBADF);
  assert_int_equal(wait_result(rt, dir), ZYNTAX_EBADF);
  int sv[2]; /* the runtime still watches what it can */
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  assert_int_equal(wait_result(rt, sv[0]), ZYNTAX_WRITABLE);
  end_runtime(rt);
  close(sv[0]);
  close(sv[1]);
  close(file);
  close(null);
  close(dir);
}

/* ---- an fd closed under a pending wait, its number reused ---- */

/* Root future, step by step (each step re-entered on a wake):
 *  0  stale = wait(n) on socket A: PENDING; close A; socket B takes the
 *     number n; fresh = wait(n): PENDING;
 *  1  the stale wait must end with EBADF (the fresh one displaced it); it
 *     is dropped before B becomes readable;
 *  2  B becomes readable: the fresh wait fires READABLE.
 * A 10 s sleep bounds the wait for steps 1-2 (a starving wait fails the
 * test instead of hanging it). */
typedef struct reuse {
  int n, peer;
  zyntax_future *stale, *fresh, *limit;
  int step, stale_result, fresh_result, timed_out;
} reuse;

static int make_socket_at(int n, int *peer) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return -1;
  if (sv[0] != n) { /* usually it already took the lowest free number */
    if (dup2(sv[0], n) != n) return -1;
    close(sv[0]);
  }
  *peer = sv[1];
  return n;
}

/* Whether `f` is READY; its result is read with zyntax_future_result. */
static int ready_now(zyntax_future *f, const zyntax_waker *waker) {
  int rc;
  return zyntax_future_poll(f, waker, &rc) == ZYNTAX_READY;
}

static zyntax_poll reuse_poll(void *state, const zyntax_waker *waker) {
  reuse *r = state;
  zyntax_runtime *rt = zyntax_runtime_current();
  if (r->step == 0) {
    zyntax_sleep_future(rt, 10ull * 1000000000ull, &r->limit);
    zyntax_fd_wait_future(rt, r->n, ZYNTAX_READABLE, &r->stale);
    if (ready_now(r->stale, waker)) return ZYNTAX_READY; /* fails below */
    close(r->n);
    close(r->peer);
    if (make_socket_at(r->n, &r->peer) != r->n) return ZYNTAX_READY;
    zyntax_fd_wait_future(rt, r->n, ZYNTAX_READABLE, &r->fresh);
    if (ready_now(r->fresh, waker)) return ZYNTAX_READY;
    r->step = 1;
  }
  if (ready_now(r->limit, waker)) {
    r->timed_out = 1;
    return ZYNTAX_READY;
  }
  if (r->step == 1) {
    if (!ready_now(r->stale, waker)) return ZYNTAX_PENDING;
    r->stale_result = zyntax_future_result(r->stale);
    zyntax_future_drop(r->stale);
    r->stale = NULL;
    if (write(r->peer, "x", 1) != 1) return ZYNTAX_READY;
    r->step = 2;
  }
  if (!ready_now(r->fresh, waker)) return ZYNTAX_PENDING;
  r->fresh_result = zyntax_future_result(r->fresh);
  return ZYNTAX_READY;
}

static void reused_fd_number_fails_the_stale_wait_not_the_new_one(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  reuse r = {.n = sv[0], .peer = sv[1]};
  zyntax_runtime *rt = new_runtime();
  assert_int_equal(zyntax_runtime_block_on_future(rt, &r, reuse_poll), 0);
  zyntax_future_drop(r.stale);
  zyntax_future_drop(r.fresh);
  zyntax_future_drop(r.limit);
  end_runtime(rt);
  close(r.n);
  close(r.peer);
  assert_int_equal(r.timed_out, 0);
  assert_int_equal(r.step, 2);
  assert_int_equal(r.stale_result, ZYNTAX_EBADF);
  assert_int_equal(r.fresh_result, ZYNTAX_READABLE);
}

/* ---- NULL result pointers: READY, and EINVAL recorded ---- */


static void null_result_pointers_record_einval(void **state) {
  (void)state;
  zyntax_channel_options o = ZYNTAX_CHANNEL_OPTIONS_INIT;
  o.item_size = sizeof(int);
  o.capacity = 4;
  zyntax_sender *tx;
  zyntax_receiver *rx;
  assert_int_equal(zyntax_channel_create(&o, &tx, &rx), 0);
  zyntax_waker noop = zyntax_waker_noop();
  int item = 7, out = 0;
  reset_last_error();
  assert_int_equal(zyntax_sender_poll_send(tx, &noop, &item, NULL), ZYNTAX_READY);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  reset_last_error();
  assert_int_equal(zyntax_receiver_poll_recv(rx, &noop, &out, NULL), ZYNTAX_READY);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  zyntax_notify *n;
  zyntax_notified *wt;
  assert_int_equal(zyntax_notify_create(&n), 0);
  assert_int_equal(zyntax_notified_create(n, &wt), 0);
  zyntax_notify_one(n); /* a stored permit the refused poll must not take */
  reset_last_error();
  assert_int_equal(zyntax_notified_poll(wt, &noop, NULL), ZYNTAX_READY);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  int rc = -99;
  assert_int_equal(zyntax_notified_poll(wt, &noop, &rc), ZYNTAX_READY);
  assert_int_equal(rc, 0); /* the permit was still there */
  zyntax_notified_drop(wt);
  zyntax_notify_drop(n);
  /* Nothing was sent by the refused call. */
  assert_int_equal(zyntax_receiver_try_recv(rx, &out), ZYNTAX_EAGAIN);
  zyntax_sender_drop(tx);
  zyntax_receiver_drop(rx);
}

/* ---- semaphore overflow: refused, not capped ---- */

static void semaphore_add_permits_past_size_max_is_refused(void **state) {
  (void)state;
  zyntax_semaphore *sem;
  assert_int_equal(zyntax_semaphore_create(SIZE_MAX, &sem), 0);
  assert_int_equal(zyntax_semaphore_try_acquire(sem), 0); /* SIZE_MAX - 1 */
  reset_last_error();
  zyntax_semaphore_add_permits(sem, 1); /* back to SIZE_MAX: fine */
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_ENOBACKEND);
  zyntax_semaphore_add_permits(sem, SIZE_MAX);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  reset_last_error();
  zyntax_semaphore_add_permits(sem, 1);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  assert_int_equal(zyntax_semaphore_try_acquire(sem), 0); /* still counted */
  zyntax_semaphore_drop(sem);
}

/* ---- a runtime future polled outside any task: EFOREIGN ---- */

static void no_job(void *arg) { (void)arg; }

static void leaf_future_polled_outside_any_task_is_foreign(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  zyntax_runtime *rt = new_runtime();
  zyntax_future *f[3];
  assert_int_equal(zyntax_sleep_future(rt, 1000000, &f[0]), 0);
  assert_int_equal(zyntax_fd_wait_future(rt, sv[0], ZYNTAX_READABLE, &f[1]), 0);
  assert_int_equal(zyntax_blocking_future(rt, no_job, NULL, &f[2]), 0);
  zyntax_waker noop = zyntax_waker_noop();
  for (int i = 0; i < 3; i++) {
    int rc = -99;
    assert_int_equal(zyntax_future_poll(f[i], i == 0 ? NULL : &noop, &rc), ZYNTAX_READY);
    assert_int_equal(rc, ZYNTAX_EFOREIGN);
    assert_int_equal(zyntax_future_result(f[i]), ZYNTAX_EFOREIGN);
    zyntax_future_drop(f[i]);
  }
  end_runtime(rt);
  close(sv[0]);
  close(sv[1]);
}

/* ---- the lost wake: named on stderr with ZYNTAX_LOG=1 ---- */

static atomic_int broken_polls;

/* Deliberately broken: PENDING without keeping the waker. Not static, so
 * the report can name it where the symbol table has it. */
zyntax_poll edges_broken_poll(void *state, const zyntax_waker *waker);
zyntax_poll edges_broken_poll(void *state, const zyntax_waker *waker) {
  (void)state, (void)waker;
  atomic_fetch_add(&broken_polls, 1);
  return ZYNTAX_PENDING;
}

/* Runs the broken task with stderr captured in a file; returns what was
 * written (malloc'd). */
static char *run_broken_task_capturing_stderr(void) {
  char path[] = "/tmp/zyntax-lost-wake-XXXXXX";
  int cap = mkstemp(path);
  assert_true(cap >= 0);
  unlink(path);
  fflush(stderr);
  int saved = dup(2);
  dup2(cap, 2);
  setenv("ZYNTAX_LOG", "1", 1);
  zyntax_runtime *rt = new_runtime();
  atomic_store(&broken_polls, 0);
  zyntax_task *t = zyntax_runtime_spawn(rt, NULL, edges_broken_poll);
  drive_until(rt, &broken_polls, 1);
  zyntax_task_drop(t);
  end_runtime(rt); /* cancels it: the only way out */
  unsetenv("ZYNTAX_LOG");
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  off_t size = lseek(cap, 0, SEEK_END);
  char *text = calloc(1, (size_t)size + 1);
  assert_int_equal(pread(cap, text, (size_t)size, 0), size);
  close(cap);
  return text;
}

static void lost_wake_is_reported_with_the_poll_function(void **state) {
  (void)state;
  char *text = run_broken_task_capturing_stderr();
  const char *line = strstr(text, "zyntax: lost wake: poll function ");
  if (line == NULL) fail_msg("no lost-wake report in: %s", text);
  /* Named: by symbol, or by executable and offset. */
  assert_true(strstr(line, "edges_broken_poll") != NULL || strstr(line, "+0x") != NULL);
  print_message("%.*s\n", (int)strcspn(line, "\n"), line);
  free(text);
}

TEST_GROUP(edge_tests) = {
    cmocka_unit_test(fd_wait_on_unwatchable_files_is_ebadf),
    cmocka_unit_test(reused_fd_number_fails_the_stale_wait_not_the_new_one),
    cmocka_unit_test(null_result_pointers_record_einval),
    cmocka_unit_test(semaphore_add_permits_past_size_max_is_refused),
    cmocka_unit_test(leaf_future_polled_outside_any_task_is_foreign),
    cmocka_unit_test(lost_wake_is_reported_with_the_poll_function),
};
const size_t edge_count = GROUP_SIZE(edge_tests);
