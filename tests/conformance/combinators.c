/* Combinators: timeout (fires, or not), select (first wins, losers dropped
 * exactly once, at once), join_all (waits for every child), over runtime
 * futures and wrapped user futures. */
#include <stdlib.h>

#include "conformance.h"

/* A root task awaiting one combinator, built on its first poll (runtime
 * futures are made inside the runtime's task). */
typedef struct awaiter {
  zyntax_future *(*make)(struct awaiter *a);
  zyntax_future *f;
  counted c[4];
  int result;
} awaiter;

static zyntax_poll awaiter_poll(void *state, const zyntax_waker *waker) {
  awaiter *a = state;
  if (a->f == NULL) a->f = a->make(a);
  if (a->f == NULL) fail_msg("combinator: %s", zyntax_last_error()->message);
  if (zyntax_future_poll(a->f, waker) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  a->result = zyntax_future_result(a->f);
  return ZYNTAX_READY;
}

/* Returns the runtime: destroy it only after dropping a->f, which may hold
 * its futures. */
static zyntax_runtime *await_combinator(awaiter *a) {
  zyntax_runtime *rt = new_runtime();
  assert_int_equal(zyntax_runtime_block_on_future(rt, a, awaiter_poll), 0);
  return rt;
}

static zyntax_future *pending_child(counted *c) {
  return zyntax_future_from(c, &counted_pending_vt);
}

static zyntax_future *timeout_of_pending(awaiter *a) {
  return zyntax_timeout(zyntax_runtime_current(), pending_child(&a->c[0]), 3000000);
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

static zyntax_future *timeout_of_short_sleep(awaiter *a) {
  (void)a;
  zyntax_runtime *rt = zyntax_runtime_current();
  return zyntax_timeout(rt, zyntax_sleep(rt, 1000000), UINT64_MAX / 2);
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

static zyntax_future *select_sleep_among_pending(awaiter *a) {
  zyntax_runtime *rt = zyntax_runtime_current();
  zyntax_future *ch[4] = {pending_child(&a->c[0]), pending_child(&a->c[1]),
                          zyntax_sleep(rt, 1000000), pending_child(&a->c[3])};
  return zyntax_select(ch, 4);
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

static zyntax_future *join_mixed(awaiter *a) {
  (void)a;
  zyntax_runtime *rt = zyntax_runtime_current();
  for (int i = 0; i < 3; i++) downs[i] = (countdown){3 + i * 5, 0, 0};
  zyntax_future *ch[5] = {zyntax_future_from(&downs[0], &countdown_vt),
                          zyntax_sleep(rt, 2000000),
                          zyntax_future_from(&downs[1], &countdown_vt),
                          zyntax_yield_now(rt),
                          zyntax_future_from(&downs[2], &countdown_vt)};
  return zyntax_join_all(ch, 5);
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
  assert_null(zyntax_select(ch, 2)); /* a NULL child: the other is dropped */
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  assert_int_equal(atomic_load(&c.drops), 1);
  assert_null(zyntax_join_all(NULL, 1));
  assert_null(zyntax_select(ch, 0));
  assert_null(zyntax_timeout(NULL, pending_child(&c), 1));
  assert_int_equal(atomic_load(&c.drops), 2);
  assert_null(zyntax_future_from(NULL, NULL));
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
