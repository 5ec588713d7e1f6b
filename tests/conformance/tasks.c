/* Task handles: join, cancel, drop, destroy with many tasks, fairness. */
#include <stdlib.h>

#include "conformance.h"

/* ---- join from inside a task ---- */

/* A child finishes once its parent opens the gate: a task cancelled before
 * that cannot have finished, however slow the machine (no wall clock). */
typedef struct child {
  zyntax_semaphore *gate;
  zyntax_acquire *pass;
  int value;
} child;

static zyntax_poll child_poll(void *state, const zyntax_waker *waker) {
  child *c = state;
  int rc;
  if (c->pass == NULL) zyntax_acquire_create(c->gate, &c->pass);
  if (zyntax_acquire_poll(c->pass, waker, &rc) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  assert_int_equal(rc, 0);
  zyntax_acquire_drop(c->pass);
  c->pass = NULL;
  c->value = 7;
  return ZYNTAX_READY;
}

/* A child cancelled after its first poll still owns its acquire. */
static void child_drop(void *state) {
  child *c = state;
  zyntax_acquire_drop(c->pass);
  c->pass = NULL;
}

static const zyntax_future_vtable child_vt = {child_poll, child_drop};

typedef struct parent {
  child kids[3];
  zyntax_task *tasks[3];
  zyntax_semaphore *gate;
  zyntax_future *join;
  int next, sum, results[3];
  int cancel_second;
} parent;

static zyntax_poll parent_poll(void *state, const zyntax_waker *waker) {
  parent *p = state;
  zyntax_runtime *rt = zyntax_runtime_current();
  if (p->tasks[0] == NULL) {
    assert_int_equal(zyntax_semaphore_create(0, &p->gate), 0);
    for (int i = 0; i < 3; i++) {
      p->kids[i].gate = p->gate;
      zyntax_runtime_spawn_future(rt, &p->kids[i], &child_vt, &p->tasks[i]);
    }
    if (p->cancel_second) zyntax_task_cancel(p->tasks[1]);
    zyntax_semaphore_add_permits(p->gate, 3);
  }
  while (p->next < 3) {
    if (p->join == NULL) zyntax_task_join_future(p->tasks[p->next], &p->join);
    if (zyntax_future_poll(p->join, waker, &p->results[p->next]) == ZYNTAX_PENDING)
      return ZYNTAX_PENDING;
    assert_int_equal(p->results[p->next], zyntax_future_result(p->join));
    zyntax_future_drop(p->join);
    p->join = NULL;
    p->sum += p->kids[p->next].value;
    zyntax_task_drop(p->tasks[p->next]);
    p->next++;
  }
  zyntax_semaphore_drop(p->gate);
  return ZYNTAX_READY;
}

static void join_from_inside_a_task(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  parent p = {0};
  assert_int_equal(zyntax_runtime_block_on_future(rt, &p, parent_poll), 0);
  assert_int_equal(p.sum, 21);
  for (int i = 0; i < 3; i++) assert_int_equal(p.results[i], 0);
  end_runtime(rt);
}

static void join_of_a_cancelled_task(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  parent p = {.cancel_second = 1};
  assert_int_equal(zyntax_runtime_block_on_future(rt, &p, parent_poll), 0);
  assert_int_equal(p.results[0], 0);
  assert_int_equal(p.results[1], ZYNTAX_ECANCELED);
  assert_int_equal(p.results[2], 0);
  assert_int_equal(p.sum, 14);
  end_runtime(rt);
}

static void one_join_future_at_a_time(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  counted c = {0, 0};
  zyntax_task *t;
  zyntax_runtime_spawn_future(rt, &c, &counted_pending_vt, &t);
  zyntax_future *j, *second;
  assert_int_equal(zyntax_task_join_future(t, &j), 0);
  assert_int_equal(zyntax_task_join_future(t, &second), ZYNTAX_EBUSY);
  assert_null(second);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EBUSY);
  zyntax_future_drop(j);
  /* the first one is gone: allowed again */
  assert_int_equal(zyntax_task_join_future(t, &j), 0);
  zyntax_future_drop(j);
  zyntax_task_drop(t);
  end_runtime(rt);
  assert_int_equal(atomic_load(&c.drops), 1);
}

/* ---- cancel ---- */

static void cancel_pending_task_drops_once(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  counted c = {0, 0};
  zyntax_task *t;
  zyntax_runtime_spawn_future(rt, &c, &counted_pending_vt, &t);
  drive_until(rt, &c.polls, 1);
  assert_int_equal(zyntax_task_cancel(t), 0);
  /* Twice: still one drop. Where workers run tasks on their own (tokio)
   * the first cancel may already have ended the task. */
  int again = zyntax_task_cancel(t);
  assert_true(again == 0 || again == ZYNTAX_EFINISHED);
  assert_int_equal(zyntax_runtime_block_on(rt, t), ZYNTAX_ECANCELED);
  assert_int_equal(atomic_load(&c.drops), 1);
  assert_null(zyntax_task_state(t));
  assert_int_equal(zyntax_task_cancel(t), ZYNTAX_EFINISHED);
  zyntax_task_drop(t);
  end_runtime(rt);
  assert_int_equal(atomic_load(&c.drops), 1);
}

static void cancel_after_completion(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  counted c = {0, 0};
  zyntax_task *t;
  zyntax_runtime_spawn_future(rt, &c, &counted_ready_vt, &t);
  assert_int_equal(zyntax_runtime_block_on(rt, t), 0);
  assert_int_equal(zyntax_task_cancel(t), ZYNTAX_EFINISHED);
  assert_ptr_equal(zyntax_task_state(t), &c); /* kept for the handle */
  assert_int_equal(atomic_load(&c.drops), 0);
  zyntax_task_drop(t); /* now it goes */
  assert_int_equal(atomic_load(&c.drops), 1);
  end_runtime(rt);
}

/* ---- drop the handle (detach) ---- */

/* Finishes after a 1 ms sleep: run() must wait for a detached task's timer. */
typedef struct sleeper {
  zyntax_future *sleep;
  int value;
} sleeper;

static zyntax_poll sleeper_poll(void *state, const zyntax_waker *waker) {
  sleeper *s = state;
  int rc;
  if (s->sleep == NULL) zyntax_sleep_future(zyntax_runtime_current(), 1000000, &s->sleep);
  if (zyntax_future_poll(s->sleep, waker, &rc) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  zyntax_future_drop(s->sleep);
  s->sleep = NULL;
  s->value = 7;
  return ZYNTAX_READY;
}

static void dropped_handle_task_still_runs_and_drops_once(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  counted c = {0, 0};
  sleeper k = {0};
  zyntax_task *t = zyntax_runtime_spawn(rt, &k, sleeper_poll);
  zyntax_task *u;
  zyntax_runtime_spawn_future(rt, &c, &counted_ready_vt, &u);
  zyntax_task_drop(t);
  zyntax_task_drop(u);
  assert_int_equal(zyntax_runtime_run(rt), 0);
  assert_int_equal(k.value, 7);
  assert_int_equal(atomic_load(&c.drops), 1);
  end_runtime(rt);
  assert_int_equal(atomic_load(&c.drops), 1);
}

/* ---- destroy with many pending tasks ---- */

#define MANY 10000

static void destroy_with_ten_thousand_pending(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  counted *c = calloc(MANY, sizeof *c);
  zyntax_task **t = calloc(MANY, sizeof *t);
  for (int i = 0; i < MANY; i++) {
    assert_int_equal(zyntax_runtime_spawn_future(rt, &c[i], &counted_pending_vt, &t[i]), 0);
  }
  drive_until(rt, &c[MANY - 1].polls, 1); /* most of them polled once */
  end_runtime(rt);
  for (int i = 0; i < MANY; i++) {
    assert_int_equal(atomic_load(&c[i].drops), 1);
    assert_int_equal(zyntax_task_status(t[i]), ZYNTAX_ECANCELED);
    zyntax_task_drop(t[i]);
  }
  free(c);
  free(t);
}

/* Tasks spawned from a task's poll wait in the run queue; destroy right
 * after block_on_future returned finds those never polled there (and the
 * ones polled once, now idle, elsewhere) and drops each state once. */
typedef struct spawner {
  zyntax_runtime *rt;
  counted *c;
  zyntax_task **t;
} spawner;

static zyntax_poll spawn_many_poll(void *state, const zyntax_waker *waker) {
  (void)waker;
  spawner *s = state;
  for (int i = 0; i < MANY; i++)
    assert_int_equal(zyntax_runtime_spawn_future(s->rt, &s->c[i], &counted_pending_vt, &s->t[i]),
                     0);
  return ZYNTAX_READY;
}

static void destroy_drops_queued_tasks_never_polled(void **state) {
  (void)state;
  spawner s = {new_runtime(), calloc(MANY, sizeof(counted)), calloc(MANY, sizeof(zyntax_task *))};
  assert_non_null(s.c);
  assert_non_null(s.t);
  assert_int_equal(zyntax_runtime_block_on_future(s.rt, &s, spawn_many_poll), 0);
  end_runtime(s.rt);
  for (int i = 0; i < MANY; i++) {
    assert_int_equal(atomic_load(&s.c[i].drops), 1);
    assert_int_equal(zyntax_task_status(s.t[i]), ZYNTAX_ECANCELED);
    zyntax_task_drop(s.t[i]);
    assert_int_equal(atomic_load(&s.c[i].drops), 1);
  }
  free(s.c);
  free(s.t);
}

static void destroy_drops_finished_states_held_by_handles(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  counted c = {0, 0};
  zyntax_task *t;
  zyntax_runtime_spawn_future(rt, &c, &counted_ready_vt, &t);
  assert_int_equal(zyntax_runtime_block_on(rt, t), 0);
  assert_int_equal(atomic_load(&c.drops), 0);
  end_runtime(rt);
  assert_int_equal(atomic_load(&c.drops), 1); /* destroy dropped it */
  assert_int_equal(zyntax_task_status(t), 0);  /* the handle still works */
  assert_null(zyntax_task_state(t));
  zyntax_task_drop(t);
  assert_int_equal(atomic_load(&c.drops), 1);
}

/* ---- fairness ---- */

#define STEPS 200 /* more than Tokio's 61-poll check of its global queue */

typedef struct turn {
  atomic_int *log_len;
  int *log;
  int id, step;
  zyntax_future *yield;
} turn;

static zyntax_poll turn_poll(void *state, const zyntax_waker *waker) {
  turn *t = state;
  for (;;) {
    if (t->yield != NULL) {
      int rc;
      if (zyntax_future_poll(t->yield, waker, &rc) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
      zyntax_future_drop(t->yield);
      t->yield = NULL;
    }
    if (t->step == STEPS) return ZYNTAX_READY;
    t->log[atomic_fetch_add(t->log_len, 1)] = t->id;
    t->step++;
    zyntax_yield_future(zyntax_runtime_current(), &t->yield);
  }
}

static void yielding_tasks_interleave(void **state) {
  (void)state;
  zyntax_runtime_options o = ZYNTAX_RUNTIME_OPTIONS_INIT;
  o.flags = ZYNTAX_RUNTIME_SINGLE_THREADED; /* one thread, so order is defined */
  zyntax_runtime *rt;
  assert_int_equal(zyntax_runtime_create_with(&o, &rt), 0);
  atomic_int len = 0;
  int log[2 * STEPS];
  turn a = {&len, log, 0, 0, NULL}, b = {&len, log, 1, 0, NULL};
  zyntax_task *ta = zyntax_runtime_spawn(rt, &a, turn_poll);
  zyntax_task *tb = zyntax_runtime_spawn(rt, &b, turn_poll);
  assert_int_equal(zyntax_runtime_run(rt), 0);
  assert_int_equal(atomic_load(&len), 2 * STEPS);
  /* A yield lets the other task run before the yielder is done. Strict
   * alternation is not promised: Tokio looks at tasks spawned from outside
   * the runtime (its global queue) only every 61 polls. */
  int first_switch = 1;
  while (first_switch < 2 * STEPS && log[first_switch] == log[0]) first_switch++;
  assert_true(first_switch < STEPS);
  int switches = 0;
  for (int i = 1; i < 2 * STEPS; i++) switches += log[i] != log[i - 1];
  assert_true(switches >= STEPS / 2); /* then they take turns */
  zyntax_task_drop(ta);
  zyntax_task_drop(tb);
  end_runtime(rt);
}

TEST_GROUP(task_tests) = {
    cmocka_unit_test(join_from_inside_a_task),
    cmocka_unit_test(join_of_a_cancelled_task),
    cmocka_unit_test(one_join_future_at_a_time),
    cmocka_unit_test(cancel_pending_task_drops_once),
    cmocka_unit_test(cancel_after_completion),
    cmocka_unit_test(dropped_handle_task_still_runs_and_drops_once),
    cmocka_unit_test(destroy_with_ten_thousand_pending),
    cmocka_unit_test(destroy_drops_queued_tasks_never_polled),
    cmocka_unit_test(destroy_drops_finished_states_held_by_handles),
    cmocka_unit_test(yielding_tasks_interleave),
};
const size_t task_count = GROUP_SIZE(task_tests);
