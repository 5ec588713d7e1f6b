/* Allocation-failure sweep: for every zyntax allocation an operation makes,
 * fail exactly that one and check the operation reports ZYNTAX_ENOMEM,
 * nothing leaks, and the runtime stays usable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <zyntax/runtime.h>

#include "support.h"

#include "failmalloc.h"

typedef int (*operation)(zyntax_runtime *rt);

/* ---- a future that drives one leaf future to completion ---- */

typedef int (*make_fn)(zyntax_runtime *rt, zyntax_future **out);

typedef struct leaf_state {
  make_fn make;
  zyntax_future *f;
  int result;
} leaf_state;

static zyntax_poll leaf_poll(void *state, const zyntax_waker *waker) {
  leaf_state *s = state;
  if (s->f == NULL) {
    s->result = s->make(zyntax_runtime_current(), &s->f);
    if (s->result != 0) return ZYNTAX_READY;
  }
  int r;
  if (zyntax_future_poll(s->f, waker, &r) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  s->result = r < 0 ? r : 0;
  zyntax_future_drop(s->f);
  s->f = NULL;
  return ZYNTAX_READY;
}

static int run_leaf(zyntax_runtime *rt, make_fn make) {
  leaf_state s = {make, NULL, 0};
  int rc = zyntax_runtime_block_on_future(rt, &s, leaf_poll);
  return rc != 0 ? rc : s.result;
}

static int make_sleep(zyntax_runtime *rt, zyntax_future **out) {
  return zyntax_sleep_future(rt, 1000, out);
}
static int make_yield(zyntax_runtime *rt, zyntax_future **out) {
  return zyntax_yield_future(rt, out);
}

static int sv[2] = {-1, -1}; /* a socketpair whose sv[1] is always writable */
static int make_fd_wait(zyntax_runtime *rt, zyntax_future **out) {
  return zyntax_fd_wait_future(rt, sv[1], ZYNTAX_WRITABLE, out);
}

static void nothing(void *arg) { (void)arg; }
static int make_blocking(zyntax_runtime *rt, zyntax_future **out) {
  return zyntax_blocking_future(rt, nothing, NULL, out);
}

static zyntax_poll ready(void *state, const zyntax_waker *waker) {
  (void)state, (void)waker;
  return ZYNTAX_READY;
}

static int make_join(zyntax_runtime *rt, zyntax_future **out) {
  zyntax_task *t = zyntax_runtime_spawn(rt, NULL, ready);
  if (t == NULL) return zyntax_last_error()->code;
  int rc = zyntax_task_join_future(t, out);
  zyntax_task_drop(t);
  return rc;
}

/* ---- the operations ---- */

static int op_sleep(zyntax_runtime *rt) { return run_leaf(rt, make_sleep); }
static int op_yield(zyntax_runtime *rt) { return run_leaf(rt, make_yield); }
static int op_fd_wait(zyntax_runtime *rt) { return run_leaf(rt, make_fd_wait); }
static int op_blocking(zyntax_runtime *rt) { return run_leaf(rt, make_blocking); }
static int op_join(zyntax_runtime *rt) { return run_leaf(rt, make_join); }

static int op_spawn(zyntax_runtime *rt) {
  zyntax_task *t = zyntax_runtime_spawn(rt, NULL, ready);
  if (t == NULL) return zyntax_last_error()->code;
  int rc = zyntax_runtime_block_on(rt, t);
  zyntax_task_drop(t);
  return rc;
}

static int init_int(void *state, void *arg) {
  *(int *)state = *(int *)arg;
  return 0;
}

static const zyntax_future_vtable ready_vt = {ready, NULL};

static int op_spawn_inplace(zyntax_runtime *rt) {
  int seven = 7;
  zyntax_task *t;
  int rc = zyntax_runtime_spawn_inplace(rt, &ready_vt, sizeof(int), sizeof(int), init_int,
                                        &seven, &t);
  if (rc != 0) return rc;
  rc = zyntax_runtime_block_on(rt, t);
  zyntax_task_drop(t);
  return rc;
}

/* More tasks at once than one arena slab holds: the spawn that needs a new
 * slab must fail cleanly when it cannot have one. */
#define MANY_TASKS 1500

static int op_spawn_many(zyntax_runtime *rt) {
  static zyntax_task *tasks[MANY_TASKS];
  int rc = 0, n = 0;
  for (; n < MANY_TASKS; n++)
    if ((tasks[n] = zyntax_runtime_spawn(rt, NULL, ready)) == NULL) {
      rc = zyntax_last_error()->code;
      break;
    }
  for (int i = 0; i < n; i++) {
    int r = zyntax_runtime_block_on(rt, tasks[i]);
    if (rc == 0) rc = r;
    zyntax_task_drop(tasks[i]);
  }
  return rc;
}

/* ---- the sweep ---- */


/* The zyntax allocations `op` makes on a fresh runtime (cold: the arena
 * has no slab for it yet) or on one that ran it once (warm: a steady state
 * may allocate nothing at all). */
static long count_allocations(operation op, int warm) {
  zyntax_runtime *rt = test_runtime();
  if (warm) assert_int_equal(op(rt), 0);
  failmalloc_reset_count();
  assert_int_equal(op(rt), 0);
  long allocations = failmalloc_count();
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
  assert_int_equal(failmalloc_live(), 0);
  return allocations;
}

static void fail_each(operation op, int warm, long allocations) {
  for (long n = 1; n <= allocations; n++) {
    zyntax_runtime *rt = test_runtime();
    if (warm) assert_int_equal(op(rt), 0);
    failmalloc_fail_nth(n);
    int rc = op(rt);
    failmalloc_fail_nth(0);
    if (failmalloc_failed()) assert_int_equal(rc, ZYNTAX_ENOMEM);
    assert_int_equal(op(rt), 0); /* still usable */
    assert_int_equal(zyntax_runtime_destroy(rt), 0);
    assert_int_equal(failmalloc_live(), 0);
  }
}

/* `min_cold`: allocations the cold run must at least make (0 for an
 * operation whose memory the runtime's creation already provides). */
static void sweep_min(operation op, const char *name, long min_cold) {
  long cold = count_allocations(op, 0);
  long warm = count_allocations(op, 1);
  print_message("%s: %ld zyntax allocations cold, %ld warm, each failed in turn\n",
                name, cold, warm);
  assert_true(cold >= min_cold); /* else the interposition is not working */
  fail_each(op, 0, cold);
  fail_each(op, 1, warm);
}

static void sweep_create(void **state) {
  (void)state;
  failmalloc_reset_count();
  zyntax_runtime *rt = test_runtime();
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
  long allocations = failmalloc_count();
  print_message("create: %ld zyntax allocations, each failed in turn\n", allocations);
  assert_true(allocations > 0);
  for (long n = 1; n <= allocations; n++) {
    failmalloc_fail_nth(n);
    rt = zyntax_runtime_create();
    failmalloc_fail_nth(0);
    if (failmalloc_failed()) {
      if (rt != NULL) fail_msg("create survived failing allocation %ld", n);
      assert_int_equal(zyntax_last_error()->code, ZYNTAX_ENOMEM);
    } else {
      if (rt == NULL) fail_msg("create failed without an injected failure (n=%ld): %s", n, zyntax_last_error()->message);
      assert_int_equal(zyntax_runtime_destroy(rt), 0);
    }
    assert_int_equal(failmalloc_live(), 0);
  }
}

/* With no file descriptor left, create fails cleanly (the loop needs
 * epoll/eventfd descriptors) and works again once descriptors are back. */
static void create_without_fds(void **state) {
  (void)state;
  zyntax_runtime *rt = test_runtime(); /* the backend is loaded already */
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
  struct rlimit old;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
  int lowest_free = dup(0);
  assert_true(lowest_free >= 0);
  close(lowest_free);
  /* 0, 1, 2 free descriptors: a backend needs a few; never a crash. */
  for (int spare = 0; spare < 3; spare++) {
    struct rlimit few = {(rlim_t)(lowest_free + spare), old.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &few), 0);
    rt = zyntax_runtime_create();
    int code = zyntax_last_error()->code;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    if (rt != NULL) {
      assert_int_equal(zyntax_runtime_destroy(rt), 0);
      continue;
    }
    if (code != ZYNTAX_EBACKEND)
      fail_msg("code %s: %s", zyntax_err_name(code), zyntax_last_error()->message);
    print_message("create with %d spare fds: %s\n", spare, zyntax_last_error()->message);
  }
  rt = test_runtime();
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
  assert_int_equal(failmalloc_live(), 0);
}

static void sweep(operation op, const char *name) { sweep_min(op, name, 1); }

/* A spawn's record comes from the arena slab the runtime's creation made. */
static void sweep_spawn(void **s) { (void)s; sweep_min(op_spawn, "spawn", 0); }
static void sweep_spawn_inplace(void **s) { (void)s; sweep_min(op_spawn_inplace, "spawn_inplace", 0); }
static void sweep_spawn_many(void **s) { (void)s; sweep(op_spawn_many, "spawn_many"); }
/* A sleep is a node of the same arena. */
static void sweep_sleep(void **s) { (void)s; sweep_min(op_sleep, "sleep", 0); }
static void sweep_yield(void **s) { (void)s; sweep(op_yield, "yield"); }
/* fd waits and blocking jobs are arena blocks too (so they may outlive
 * their runtime): a cold run may find its block in a slab already made. */
static void sweep_fd_wait(void **s) { (void)s; sweep_min(op_fd_wait, "fd_wait", 0); }
static void sweep_blocking(void **s) { (void)s; sweep_min(op_blocking, "blocking", 0); }
static void sweep_join(void **s) { (void)s; sweep(op_join, "join"); }

/* Rust aborts the process when an allocation fails (handle_alloc_error),
 * so on tokio only the C side could be swept; the sweep is skipped there. */
static int setup(void **state) {
  (void)state;
  zyntax_runtime *rt = zyntax_runtime_create();
  if (rt == NULL) return -1;
  int rust = strcmp(zyntax_runtime_backend_name(rt), "tokio") == 0;
  zyntax_runtime_destroy(rt);
  return rust ? 1 : 0;
}

int main(void) {
  int rust = setup(NULL);
  if (rust < 0) return 1;
  if (rust) {
    printf("fault-injection: skipped on tokio: Rust aborts on allocation failure\n");
    return 0;
  }
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sweep_create),   cmocka_unit_test(create_without_fds),
      cmocka_unit_test(sweep_spawn),    cmocka_unit_test(sweep_spawn_many),
      cmocka_unit_test(sweep_spawn_inplace), cmocka_unit_test(sweep_sleep),
      cmocka_unit_test(sweep_yield),    cmocka_unit_test(sweep_fd_wait),
      cmocka_unit_test(sweep_blocking), cmocka_unit_test(sweep_join),
  };
  int failed = cmocka_run_group_tests_name("fault-injection", tests, NULL, NULL);
  close(sv[0]);
  close(sv[1]);
  return failed;
}
