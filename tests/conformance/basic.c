/* Running poll functions: ready at once, multi-state machines, block_on of
 * a stack future, run, the current runtime, several runtimes, stats. */
#include "conformance.h"

static void ready_on_first_poll(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  counted c = {0, 0};
  zyntax_task *t = zyntax_runtime_spawn(rt, &c, counted_ready_vt.poll);
  assert_non_null(t);
  assert_int_equal(zyntax_runtime_block_on(rt, t), 0);
  assert_int_equal(atomic_load(&c.polls), 1);
  assert_int_equal(zyntax_task_status(t), 0);
  assert_ptr_equal(zyntax_task_state(t), &c);
  zyntax_task_drop(t);
  end_runtime(rt);
  assert_int_equal(atomic_load(&c.drops), 0); /* borrowed state: no drop */
}

/* async fn three_steps() -> int { yield.await; sleep(1ms).await; yield.await; 42 }
 * lowered as a compiler would: a state id and the live nested future. */
typedef struct three_steps {
  uint32_t state_id;
  zyntax_future *awaiting;
  int result;
  atomic_int polls;
} three_steps;

static zyntax_poll three_steps_poll(void *state, const zyntax_waker *waker) {
  three_steps *s = state;
  zyntax_runtime *rt = zyntax_runtime_current();
  atomic_fetch_add(&s->polls, 1);
  for (;;) {
    switch (s->state_id) {
    case 0:
      zyntax_yield_future(rt, &s->awaiting);
      s->state_id = 1;
      break;
    case 1:
    case 3:
    case 5:
      if (zyntax_future_poll(s->awaiting, waker, &s->result) == ZYNTAX_PENDING)
        return ZYNTAX_PENDING;
      zyntax_future_drop(s->awaiting);
      s->awaiting = NULL;
      if (s->state_id == 1) zyntax_sleep_future(rt, 1000000, &s->awaiting);
      if (s->state_id == 3) zyntax_yield_future(rt, &s->awaiting);
      s->state_id++;
      if (s->state_id == 6) {
        s->result = 42;
        return ZYNTAX_READY;
      }
      s->state_id++;
      break;
    default:
      return ZYNTAX_READY;
    }
  }
}

static void state_machine_with_pending_and_wakes(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  three_steps s = {0, NULL, 0, 0};
  zyntax_task *t = zyntax_runtime_spawn(rt, &s, three_steps_poll);
  assert_int_equal(zyntax_runtime_block_on(rt, t), 0);
  assert_int_equal(s.result, 42);
  /* First + one per yield; the 1 ms sleep may already be over when it is
   * first polled on a slow machine (valgrind), so it may cost no poll. */
  assert_true(atomic_load(&s.polls) >= 3);
  zyntax_task_drop(t);
  end_runtime(rt);
}

/* for _ in 0..n { yield_now().await } with the allocation-free yield. */
typedef struct yield_loop {
  unsigned char yielded;
  int left;
  atomic_int polls;
} yield_loop;

static zyntax_poll yield_loop_poll(void *state, const zyntax_waker *waker) {
  yield_loop *y = state;
  atomic_fetch_add(&y->polls, 1);
  for (; y->left > 0; y->left--)
    if (zyntax_yield_poll(&y->yielded, waker) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  return ZYNTAX_READY;
}

static void inline_yield_lets_the_task_be_polled_again(void **state) {
  (void)state;
  zyntax_waker noop = zyntax_waker_noop();
  unsigned char yielded = 0;
  assert_int_equal(zyntax_yield_poll(&yielded, &noop), ZYNTAX_PENDING);
  assert_int_equal(zyntax_yield_poll(&yielded, &noop), ZYNTAX_READY);
  assert_int_equal(yielded, 0); /* ready for the next yield */
  zyntax_runtime *rt = new_runtime();
  yield_loop y = {0, 5, 0};
  zyntax_task *t = zyntax_runtime_spawn(rt, &y, yield_loop_poll);
  assert_int_equal(zyntax_runtime_block_on(rt, t), 0);
  assert_int_equal(y.left, 0);
  assert_int_equal(atomic_load(&y.polls), 6); /* first + one per yield */
  zyntax_task_drop(t);
  end_runtime(rt);
}

static void block_on_a_stack_future(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  three_steps s = {0, NULL, 0, 0}; /* on this stack, no task allocated */
  assert_int_equal(zyntax_runtime_block_on_future(rt, &s, three_steps_poll), 0);
  assert_int_equal(s.result, 42);
  three_steps again = {0, NULL, 0, 0}; /* the root cell is reusable */
  assert_int_equal(zyntax_runtime_block_on_future(rt, &again, three_steps_poll), 0);
  assert_int_equal(again.result, 42);
  end_runtime(rt);
}

static void run_until_no_task_is_left(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  assert_int_equal(zyntax_runtime_run(rt), 0); /* nothing to do */
  three_steps s[8];
  for (int i = 0; i < 8; i++) {
    s[i] = (three_steps){0, NULL, 0, 0};
    zyntax_task *t = zyntax_runtime_spawn(rt, &s[i], three_steps_poll);
    zyntax_task_drop(t); /* detached: run() still waits for it */
  }
  assert_int_equal(zyntax_runtime_run(rt), 0);
  for (int i = 0; i < 8; i++) assert_int_equal(s[i].result, 42);
  end_runtime(rt);
}

typedef struct where {
  zyntax_runtime *seen;
} where;

static zyntax_poll record_current(void *state, const zyntax_waker *waker) {
  (void)waker;
  ((where *)state)->seen = zyntax_runtime_current();
  return ZYNTAX_READY;
}

static void current_runtime(void **state) {
  (void)state;
  assert_null(zyntax_runtime_current());
  zyntax_runtime *rt = new_runtime();
  where w = {NULL};
  zyntax_task *t = zyntax_runtime_spawn(rt, &w, record_current);
  assert_int_equal(zyntax_runtime_block_on(rt, t), 0);
  assert_ptr_equal(w.seen, rt);
  assert_null(zyntax_runtime_current());
  zyntax_task_drop(t);
  end_runtime(rt);
}

static void two_runtimes_in_one_process(void **state) {
  (void)state;
  zyntax_runtime *a = new_runtime(), *b = new_runtime();
  three_steps sa = {0, NULL, 0, 0}, sb = {0, NULL, 0, 0};
  zyntax_task *ta = zyntax_runtime_spawn(a, &sa, three_steps_poll);
  zyntax_task *tb = zyntax_runtime_spawn(b, &sb, three_steps_poll);
  assert_int_equal(zyntax_runtime_block_on(b, tb), 0);
  assert_int_equal(zyntax_runtime_block_on(a, ta), 0);
  assert_int_equal(sa.result + sb.result, 84);
  assert_string_equal(zyntax_runtime_backend_name(a), zyntax_runtime_backend_name(b));
  zyntax_task_drop(ta);
  zyntax_task_drop(tb);
  end_runtime(a);
  end_runtime(b);
}

static void stats_match_the_work(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  counted done = {0, 0}, never = {0, 0};
  zyntax_task *a;
  zyntax_runtime_spawn_future(rt, &done, &counted_ready_vt, &a);
  zyntax_task *b;
  zyntax_runtime_spawn_future(rt, &never, &counted_pending_vt, &b);
  three_steps s = {0, NULL, 0, 0};
  zyntax_task *c = zyntax_runtime_spawn(rt, &s, three_steps_poll);
  assert_int_equal(zyntax_runtime_block_on(rt, c), 0);
  assert_int_equal(zyntax_runtime_block_on(rt, a), 0);
  drive_until(rt, &never.polls, 1);
  zyntax_task_cancel(b);
  assert_int_equal(zyntax_runtime_block_on(rt, b), ZYNTAX_ECANCELED);
  zyntax_stats st = {.size = sizeof st};
  assert_int_equal(zyntax_runtime_stats(rt, &st), 0);
  assert_int_equal(st.tasks_spawned, 3);
  assert_int_equal(st.tasks_completed, 2);
  assert_int_equal(st.tasks_cancelled, 1);
  assert_int_equal(st.tasks_failed, 0);
  assert_true(st.polls >= 6);   /* 1 + 1 + 4, plus the drive_until root */
  assert_true(st.wakes >= 3);   /* 2 yields, 1 cancel (+ the timer unless it was over) */
  /* The 1 ms sleep is armed unless it was already over at its first poll
   * (a preempted worker on a loaded machine): no wall-clock assumption. */
  assert_true(st.timers <= 1);
  assert_int_equal(st.io_waits, 0);
  /* Other layouts of the struct: the abi group. */
  zyntax_task_drop(a);
  zyntax_task_drop(b);
  zyntax_task_drop(c);
  end_runtime(rt);
  assert_int_equal(atomic_load(&done.drops) + atomic_load(&never.drops), 2);
}

TEST_GROUP(basic_tests) = {
    cmocka_unit_test(ready_on_first_poll),
    cmocka_unit_test(state_machine_with_pending_and_wakes),
    cmocka_unit_test(inline_yield_lets_the_task_be_polled_again),
    cmocka_unit_test(block_on_a_stack_future),
    cmocka_unit_test(run_until_no_task_is_left),
    cmocka_unit_test(current_runtime),
    cmocka_unit_test(two_runtimes_in_one_process),
    cmocka_unit_test(stats_match_the_work),
};
const size_t basic_count = GROUP_SIZE(basic_tests);
