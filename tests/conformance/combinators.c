/* Combinators: timeout (fires, or not), select (first wins, losers dropped
 * exactly once, at once), join_all (waits for every child), over runtime
 * futures and wrapped user futures. */
#include <stdlib.h>

#include "conformance.h"

/* A root task awaiting one combinator, built on its first poll (runtime
 * futures are made inside the runtime's task). */
typedef struct awaiter {
  int (*make)(struct awaiter *a, zyntax_future **out);
  zyntax_future *f;
  counted c[4];
  int result;
} awaiter;

static zyntax_poll awaiter_poll(void *state, const zyntax_waker *waker) {
  awaiter *a = state;
  if (a->f == NULL && a->make(a, &a->f) != 0)
    fail_msg("combinator: %s", zyntax_last_error()->message);
  if (zyntax_future_poll(a->f, waker, &a->result) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  assert_int_equal(a->result, zyntax_future_result(a->f));
  return ZYNTAX_READY;
}

/* Returns the runtime: destroy it only after dropping a->f, which may hold
 * its futures. */
static zyntax_runtime *await_combinator(awaiter *a) {
  zyntax_runtime *rt = new_runtime();
  assert_int_equal(zyntax_runtime_block_on_future(rt, a, awaiter_poll), 0);
  return rt;
}

/* Children made inline, as array elements: NULL when a constructor failed,
 * which the combinator then refuses (bad_arguments_drop_children). */
static zyntax_future *pending_child(counted *c) {
  zyntax_future *f;
  zyntax_user_future(c, &counted_pending_vt, &f);
  return f;
}

static zyntax_future *sleep_child(zyntax_runtime *rt, uint64_t ns) {
  zyntax_future *f;
  zyntax_sleep_future(rt, ns, &f);
  return f;
}

static int timeout_of_pending(awaiter *a, zyntax_future **out) {
  return zyntax_timeout_future(zyntax_runtime_current(), pending_child(&a->c[0]), 3000000,
                               out);
}

static void timeout_fires_and_cancels_inner(void **state) {
  (void)state;
  awaiter a = {timeout_of_pending, NULL, {{0}}, 0};
  uint64_t start = zyntax_now();
  zyntax_runtime *rt = await_combinator(&a);
  assert_true(zyntax_now() - start >= 3000000); /* never early */
  assert_int_equal(a.result, ZYNTAX_ETIMEDOUT);
  assert_int_equal(atomic_load(&a.c[0].drops), 1); /* at once, not at drop */
  assert_null(zyntax_future_child(a.f, 0));
  assert_true(atomic_load(&a.c[0].polls) >= 1);
  zyntax_future_drop(a.f);
  assert_int_equal(atomic_load(&a.c[0].drops), 1);
  end_runtime(rt);
}

static int timeout_of_short_sleep(awaiter *a, zyntax_future **out) {
  (void)a;
  zyntax_runtime *rt = zyntax_runtime_current();
  return zyntax_timeout_future(rt, sleep_child(rt, 1000000), UINT64_MAX / 2, out);
}

static void timeout_passes_inner_result(void **state) {
  (void)state;
  awaiter a = {timeout_of_short_sleep, NULL, {{0}}, -99};
  zyntax_runtime *rt = await_combinator(&a);
  assert_int_equal(a.result, 0);
  assert_non_null(zyntax_future_child(a.f, 0));
  zyntax_future_drop(a.f);
  end_runtime(rt);
}

static int select_sleep_among_pending(awaiter *a, zyntax_future **out) {
  zyntax_runtime *rt = zyntax_runtime_current();
  zyntax_future *ch[4] = {pending_child(&a->c[0]), pending_child(&a->c[1]),
                          sleep_child(rt, 1000000), pending_child(&a->c[3])};
  return zyntax_select_future(ch, 4, out);
}

static void select_first_wins_losers_dropped_once(void **state) {
  (void)state;
  awaiter a = {select_sleep_among_pending, NULL, {{0}}, -99};
  zyntax_runtime *rt = await_combinator(&a);
  assert_int_equal(a.result, 2);
  for (int i = 0; i < 4; i++) {
    if (i == 2) continue;
    assert_int_equal(atomic_load(&a.c[i].drops), 1);
    assert_null(zyntax_future_child(a.f, (size_t)i));
  }
  assert_non_null(zyntax_future_child(a.f, 2));
  zyntax_future_drop(a.f);
  for (int i = 0; i < 4; i++)
    if (i != 2) assert_int_equal(atomic_load(&a.c[i].drops), 1);
  end_runtime(rt);
}

/* A user future READY on its n-th poll; its result is stored in its state. */
typedef struct countdown {
  int left, value, dropped;
} countdown;

static zyntax_poll countdown_poll(void *state, const zyntax_waker *waker) {
  countdown *c = state;
  if (--c->left > 0) {
    zyntax_waker_wake_by_ref(waker);
    return ZYNTAX_PENDING;
  }
  c->value = 7;
  return ZYNTAX_READY;
}

static void countdown_drop(void *state) { ((countdown *)state)->dropped++; }

static const zyntax_future_vtable countdown_vt = {countdown_poll, countdown_drop};

static countdown downs[3];

static zyntax_future *countdown_child(countdown *c) {
  zyntax_future *f;
  zyntax_user_future(c, &countdown_vt, &f);
  return f;
}

static int join_mixed(awaiter *a, zyntax_future **out) {
  (void)a;
  zyntax_runtime *rt = zyntax_runtime_current();
  for (int i = 0; i < 3; i++) downs[i] = (countdown){3 + i * 5, 0, 0};
  zyntax_future *yield;
  zyntax_yield_future(rt, &yield);
  zyntax_future *ch[5] = {countdown_child(&downs[0]), sleep_child(rt, 2000000),
                          countdown_child(&downs[1]), yield, countdown_child(&downs[2])};
  return zyntax_join_all_future(ch, 5, out);
}

static void join_all_waits_for_every_child(void **state) {
  (void)state;
  awaiter a = {join_mixed, NULL, {{0}}, -99};
  zyntax_runtime *rt = await_combinator(&a);
  assert_int_equal(a.result, 0);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(downs[i].left, 0); /* polled until READY, never again */
    assert_int_equal(downs[i].value, 7);
    assert_int_equal(downs[i].dropped, 0);
  }
  assert_ptr_equal(zyntax_future_state(zyntax_future_child(a.f, 2)), &downs[1]);
  zyntax_future_drop(a.f);
  for (int i = 0; i < 3; i++) assert_int_equal(downs[i].dropped, 1);
  end_runtime(rt);
}

static void bad_arguments_drop_children(void **state) {
  (void)state;
  counted c = {0};
  zyntax_future *ch[2] = {pending_child(&c), NULL};
  /* `junk`: any non-NULL value, never used; each failure sets `f` to NULL */
  zyntax_future *const junk = (zyntax_future *)&c, *f = junk;
  /* a NULL child: the other is dropped */
  assert_int_equal(zyntax_select_future(ch, 2, &f), ZYNTAX_EINVAL);
  assert_null(f);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  assert_int_equal(atomic_load(&c.drops), 1);
  f = junk;
  assert_int_equal(zyntax_join_all_future(NULL, 1, &f), ZYNTAX_EINVAL);
  assert_null(f);
  f = junk;
  assert_int_equal(zyntax_select_future(ch, 0, &f), ZYNTAX_EINVAL);
  assert_null(f);
  f = junk;
  assert_int_equal(zyntax_timeout_future(NULL, pending_child(&c), 1, &f), ZYNTAX_EINVAL);
  assert_null(f);
  assert_int_equal(atomic_load(&c.drops), 2);
  ch[0] = pending_child(&c); /* a NULL out: the children are dropped all the same */
  assert_int_equal(zyntax_select_future(ch, 1, NULL), ZYNTAX_EINVAL);
  assert_int_equal(atomic_load(&c.drops), 3);
  assert_int_equal(zyntax_timeout_future(NULL, pending_child(&c), 1, NULL), ZYNTAX_EINVAL);
  assert_int_equal(atomic_load(&c.drops), 4);
  f = junk;
  assert_int_equal(zyntax_user_future(NULL, NULL, &f), ZYNTAX_EINVAL);
  assert_null(f);
  assert_int_equal(zyntax_user_future(&c, &counted_pending_vt, NULL), ZYNTAX_EINVAL);
  assert_int_equal(atomic_load(&c.drops), 4); /* the state stays the caller's */
  assert_null(zyntax_future_child(NULL, 0));
  assert_null(zyntax_future_state(NULL));
}

TEST_GROUP(combinator_tests) = {
    cmocka_unit_test(timeout_fires_and_cancels_inner),
    cmocka_unit_test(timeout_passes_inner_result),
    cmocka_unit_test(select_first_wins_losers_dropped_once),
    cmocka_unit_test(join_all_waits_for_every_child),
    cmocka_unit_test(bad_arguments_drop_children),
};
const size_t combinator_count = GROUP_SIZE(combinator_tests);
