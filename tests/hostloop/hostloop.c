/* A host loop in plain poll(2) drives a runtime through
 * zyntax_runtime_poll_fd / _next_deadline / _run_nowait. Timing is only
 * ever a safety bound: the assertions are on the order of events. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>
#include <zyntax/runtime.h>

#include "support.h"

#define MS 1000000ull
#define HOST_TIMEOUT_MS 10000 /* the host's own timeout: never reached */

/* ---- a task awaiting one runtime future, recording when it finished ---- */

typedef struct await_task {
  zyntax_future *f;
  atomic_int *seq; /* the test's event counter */
  atomic_int done; /* the value of *seq when the future was READY */
} await_task;

static zyntax_poll await_poll(void *state, const zyntax_waker *waker) {
  await_task *t = state;
  int rc;
  if (zyntax_future_poll(t->f, waker, &rc) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  atomic_store(&t->done, atomic_fetch_add(t->seq, 1) + 1);
  return ZYNTAX_READY;
}

static void await_drop(void *state) {
  await_task *t = state;
  zyntax_future_drop(t->f);
  t->f = NULL;
}

static const zyntax_future_vtable await_vtable = {await_poll, await_drop};

static zyntax_task *spawn_await(zyntax_runtime *rt, await_task *t,
                                zyntax_future *f, atomic_int *seq) {
  assert_non_null(f);
  t->f = f;
  t->seq = seq;
  atomic_init(&t->done, 0);
  zyntax_task *task;
  assert_int_equal(zyntax_runtime_spawn_future(rt, t, &await_vtable, &task), 0);
  return task;
}

/* The futures the tests await; a failure fails the test. */
static zyntax_future *sleep_for(zyntax_runtime *rt, uint64_t ns) {
  zyntax_future *f;
  assert_int_equal(zyntax_sleep_future(rt, ns, &f), 0);
  return f;
}

static zyntax_future *read_wait(zyntax_runtime *rt, int fd) {
  zyntax_future *f;
  assert_int_equal(zyntax_fd_wait_future(rt, fd, ZYNTAX_READABLE, &f), 0);
  return f;
}

/* ---- helpers ---- */

/* 1 when the backend supports host loops; on one that does not (Tokio,
 * and sim: runtime.h), checks that every call says so and returns 0. */
static int supported(zyntax_runtime *rt) {
  int fd = zyntax_runtime_poll_fd(rt);
  if (fd >= 0) return 1;
  assert_int_equal(fd, ZYNTAX_EUNSUPPORTED);
  const char *name = zyntax_runtime_backend_name(rt);
  assert_true(strcmp(name, "tokio") == 0 || strcmp(name, "sim") == 0);
  assert_non_null(strstr(zyntax_last_error()->message, "host loop"));
  uint64_t d = 0;
  int more = 7;
  assert_int_equal(zyntax_runtime_next_deadline(rt, &d), ZYNTAX_EUNSUPPORTED);
  assert_true(d == ZYNTAX_DEADLINE_NONE);
  assert_int_equal(zyntax_runtime_run_nowait(rt, &more), ZYNTAX_EUNSUPPORTED);
  assert_int_equal(more, 0);
  printf("backend %s: host-loop calls return %s (%s)\n",
         zyntax_runtime_backend_name(rt), zyntax_err_name(ZYNTAX_EUNSUPPORTED),
         zyntax_last_error()->message);
  return 0;
}

/* A runtime of the mode under test and its fd; NULL (after the checks of
 * supported()) on a backend without host loops. */
static zyntax_runtime *host_runtime(int *fd) {
  zyntax_runtime *rt = test_runtime();
  if (!supported(rt)) {
    assert_int_equal(zyntax_runtime_destroy(rt), 0);
    return NULL;
  }
  *fd = zyntax_runtime_poll_fd(rt);
  return rt;
}

static int readable(int fd, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int n;
  do
    n = poll(&p, 1, timeout_ms);
  while (n < 0 && errno == EINTR);
  assert_true(n >= 0);
  return n;
}

static int run_nowait(zyntax_runtime *rt) {
  int more = -1;
  assert_int_equal(zyntax_runtime_run_nowait(rt, &more), 0);
  assert_true(more == 0 || more == 1);
  return more;
}

/* The host loop until `t` finished: every sleep must end readable. */
static void host_until_done(zyntax_runtime *rt, int fd, await_task *t) {
  do
    assert_int_equal(readable(fd, HOST_TIMEOUT_MS), 1);
  while (run_nowait(rt) >= 0 && atomic_load(&t->done) == 0);
}

/* ---- (1) a deadline armed from another thread wakes the host ---- */

typedef struct armer {
  zyntax_runtime *rt;
  atomic_int *seq;
  atomic_int host_waiting;
  int armed; /* *seq when the sleep was made */
  uint64_t armed_at; /* zyntax_now() then: printed, never asserted on */
  await_task task;
  zyntax_task *handle;
} armer;

static void *arm_thread(void *arg) {
  armer *a = arg;
  while (!atomic_load(&a->host_waiting)) usleep(1000);
  usleep(50 * 1000); /* let the host fall asleep in poll(2); not relied on */
  a->armed = atomic_fetch_add(a->seq, 1) + 1;
  a->armed_at = zyntax_now();
  /* 100 ms: far earlier than the host's 10 s timeout. */
  a->handle = spawn_await(a->rt, &a->task, sleep_for(a->rt, 100 * MS), a->seq);
  return NULL;
}

static void cross_thread_deadline_wakes_host(void **state) {
  (void)state;
  int fd;
  zyntax_runtime *rt = host_runtime(&fd);
  if (rt == NULL) return;
  assert_int_equal(run_nowait(rt), 0);
  uint64_t d;
  assert_int_equal(zyntax_runtime_next_deadline(rt, &d), 1);
  assert_true(d == ZYNTAX_DEADLINE_NONE);

  atomic_int seq = 0;
  armer a = {.rt = rt, .seq = &seq};
  atomic_init(&a.host_waiting, 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, arm_thread, &a), 0);
  int wakes[16], nwakes = 0;
  uint64_t woke_at[16];
  int saw_deadline = 0;
  atomic_store(&a.host_waiting, 1);
  while (atomic_load(&a.task.done) == 0) {
    /* The host never shortens its timeout: the fd alone must wake it. */
    assert_int_equal(readable(fd, HOST_TIMEOUT_MS), 1);
    assert_true(nwakes < 16); /* no busy loop */
    woke_at[nwakes] = zyntax_now();
    wakes[nwakes++] = atomic_fetch_add(&seq, 1) + 1;
    run_nowait(rt);
    if (atomic_load(&a.task.done) == 0 && zyntax_runtime_next_deadline(rt, &d) == 0)
      saw_deadline = 1; /* the sleep is filed: its deadline is visible */
  }
  pthread_join(th, NULL);
  /* The order: armed, then the host woke, then the timer's task ran. */
  assert_true(a.armed > 0);
  assert_true(wakes[0] > a.armed);
  assert_true(atomic_load(&a.task.done) > wakes[0]);
  assert_true(saw_deadline);
  printf("cross-thread deadline (100 ms, host timeout %d ms): armed at event %d, "
         "host woke at events", HOST_TIMEOUT_MS, a.armed);
  for (int i = 0; i < nwakes; i++)
    printf(" %d (+%.1f ms)", wakes[i], (double)(woke_at[i] - a.armed_at) / 1e6);
  printf(", timer's task ran at event %d\n", atomic_load(&a.task.done));
  assert_int_equal(zyntax_task_status(a.handle), 0);
  zyntax_task_drop(a.handle);
  assert_int_equal(run_nowait(rt), 0);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
}

/* ---- (2) quiet while nothing is pending ---- */

static void idle_fd_stays_quiet(void **state) {
  (void)state;
  int fd;
  zyntax_runtime *rt = host_runtime(&fd);
  if (rt == NULL) return;
  assert_int_equal(zyntax_runtime_poll_fd(rt), fd); /* the same fd */
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
  atomic_int seq = 0;
  await_task t;
  zyntax_task *task = spawn_await(rt, &t, read_wait(rt, p[0]), &seq);
  assert_int_equal(readable(fd, 0), 1); /* the spawn from this thread */
  assert_int_equal(run_nowait(rt), 1);  /* the task waits on the pipe */
  uint64_t d;
  assert_int_equal(zyntax_runtime_next_deadline(rt, &d), 1);

  int wakeups = 0;
  uint64_t end = zyntax_now() + 1000 * MS;
  for (uint64_t now = zyntax_now(); now < end; now = zyntax_now()) {
    if (readable(fd, (int)((end - now + MS - 1) / MS)) == 0) continue;
    wakeups++;
    run_nowait(rt);
    assert_true(wakeups < 1000);
  }
  printf("backend %s: %d wakeups over an idle second\n",
         zyntax_runtime_backend_name(rt), wakeups);
  assert_int_equal(wakeups, 0);

  /* And it does wake for the I/O. */
  assert_int_equal(write(p[1], "x", 1), 1);
  host_until_done(rt, fd, &t);
  zyntax_task_drop(task);
  assert_int_equal(run_nowait(rt), 0);
  assert_int_equal(readable(fd, 0), 0); /* nothing left: quiet again */
  close(p[0]);
  close(p[1]);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
}

/* ---- (3) destroy while the host still watches the fd ---- */

static void destroy_while_host_holds_fd(void **state) {
  (void)state;
  int fd;
  zyntax_runtime *rt = host_runtime(&fd);
  if (rt == NULL) return;
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
  atomic_int seq = 0;
  await_task sleeper, waiter;
  zyntax_task *a = spawn_await(rt, &sleeper, sleep_for(rt, 3600ull * 1000 * MS), &seq);
  zyntax_task *b = spawn_await(rt, &waiter, read_wait(rt, p[0]), &seq);
  zyntax_task_drop(a);
  zyntax_task_drop(b);
  assert_int_equal(run_nowait(rt), 1);
  uint64_t d;
  assert_int_equal(zyntax_runtime_next_deadline(rt, &d), 0);
  assert_true(d >= zyntax_now() + 3599ull * 1000 * MS); /* the sleep's own */

  int host = epoll_create1(EPOLL_CLOEXEC); /* the host's own loop */
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  assert_int_equal(epoll_ctl(host, EPOLL_CTL_ADD, fd, &ev), 0);
  assert_int_equal(zyntax_runtime_destroy(rt), 0); /* drops both tasks */
  errno = 0;
  assert_int_equal(fcntl(fd, F_GETFD), -1); /* the runtime closed it */
  assert_int_equal(errno, EBADF);
  struct epoll_event out;
  assert_int_equal(epoll_wait(host, &out, 1, 0), 0); /* gone from the set */
  assert_int_equal(atomic_load(&sleeper.done), 0);
  assert_null(sleeper.f); /* dropped, not run */
  assert_null(waiter.f);
  close(host);
  close(p[0]);
  close(p[1]);
}

/* ---- the fd made after a wait started still sees that wait ---- */

static void fd_made_after_wait_started(void **state) {
  (void)state;
  zyntax_runtime *rt = test_runtime();
  int more;
  if (zyntax_runtime_run_nowait(rt, &more) == ZYNTAX_EUNSUPPORTED) {
    assert_int_equal(zyntax_runtime_destroy(rt), 0);
    return;
  }
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
  atomic_int seq = 0;
  await_task t;
  zyntax_task *task = spawn_await(rt, &t, read_wait(rt, p[0]), &seq);
  assert_int_equal(run_nowait(rt), 1); /* the wait started, no fd yet */
  int fd = zyntax_runtime_poll_fd(rt);
  assert_true(fd >= 0);
  assert_int_equal(readable(fd, 0), 0);
  assert_int_equal(write(p[1], "x", 1), 1);
  host_until_done(rt, fd, &t);
  zyntax_task_drop(task);
  close(p[0]);
  close(p[1]);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
}

/* ---- re-entrancy and bad arguments ---- */

typedef struct reentry {
  zyntax_runtime *rt;
  int fd, deadline, nowait;
} reentry;

static zyntax_poll reentrant_poll(void *state, const zyntax_waker *waker) {
  (void)waker;
  reentry *r = state;
  uint64_t d;
  int more;
  r->fd = zyntax_runtime_poll_fd(r->rt);
  r->deadline = zyntax_runtime_next_deadline(r->rt, &d);
  r->nowait = zyntax_runtime_run_nowait(r->rt, &more);
  return ZYNTAX_READY;
}

static void reentrant_calls_refused(void **state) {
  (void)state;
  int fd;
  zyntax_runtime *rt = host_runtime(&fd);
  if (rt == NULL) return;
  (void)fd;
  reentry r = {rt, 0, 0, 0};
  zyntax_task *task = zyntax_runtime_spawn(rt, &r, reentrant_poll);
  assert_non_null(task);
  run_nowait(rt);
  assert_int_equal(zyntax_task_status(task), 0);
  assert_int_equal(r.fd, ZYNTAX_EREENTRANT);
  assert_int_equal(r.deadline, ZYNTAX_EREENTRANT);
  assert_int_equal(r.nowait, ZYNTAX_EREENTRANT);
  zyntax_task_drop(task);
  run_nowait(rt);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
}

static void bad_arguments(void **state) {
  (void)state;
  uint64_t d = 0;
  int more = 5;
  assert_int_equal(zyntax_runtime_poll_fd(NULL), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_next_deadline(NULL, &d), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_run_nowait(NULL, &more), ZYNTAX_EINVAL);
  assert_int_equal(more, 0);
  zyntax_runtime *rt = test_runtime();
  assert_int_equal(zyntax_runtime_next_deadline(rt, NULL), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_run_nowait(rt, NULL), ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(cross_thread_deadline_wakes_host),
      cmocka_unit_test(idle_fd_stays_quiet),
      cmocka_unit_test(destroy_while_host_holds_fd),
      cmocka_unit_test(fd_made_after_wait_started),
      cmocka_unit_test(reentrant_calls_refused),
      cmocka_unit_test(bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
