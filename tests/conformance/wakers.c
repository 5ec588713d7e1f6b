/* Wakers: from other threads, many times; after completion; after the
 * runtime is gone; clones and drops in any number. */
#include <pthread.h>

#include "conformance.h"

#define THREADS 4
#define WAKES_EACH 20000

/* Completes once it has seen `target` wakes counted by the waking threads;
 * publishes a clone of its waker for them on the first poll. */
typedef struct wakeable {
  atomic_int woken;   /* incremented by a thread before each wake */
  atomic_int target;
  atomic_int published;
  atomic_int polls;
  zyntax_waker waker;
} wakeable;

static zyntax_poll wakeable_poll(void *state, const zyntax_waker *waker) {
  wakeable *w = state;
  atomic_fetch_add(&w->polls, 1);
  if (!atomic_load(&w->published)) {
    w->waker = zyntax_waker_clone(waker);
    atomic_store(&w->published, 1);
  }
  return atomic_load(&w->woken) >= atomic_load(&w->target) ? ZYNTAX_READY : ZYNTAX_PENDING;
}

static void *waker_thread(void *arg) {
  wakeable *w = arg;
  while (!atomic_load(&w->published)) {
  }
  for (int i = 0; i < WAKES_EACH; i++) {
    atomic_fetch_add(&w->woken, 1);
    if (i % 2) {
      zyntax_waker_wake_by_ref(&w->waker);
    } else {
      zyntax_waker c = zyntax_waker_clone(&w->waker);
      zyntax_waker_wake(&c); /* consumes the clone */
    }
  }
  return NULL;
}

static void wake_from_other_threads(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  wakeable w = {0, THREADS * WAKES_EACH, 0, 0, ZYNTAX_WAKER_EMPTY};
  zyntax_task *t = zyntax_runtime_spawn(rt, &w, wakeable_poll);
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, waker_thread, &w);
  assert_int_equal(zyntax_runtime_block_on(rt, t), 0);
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  assert_int_equal(atomic_load(&w.woken), THREADS * WAKES_EACH);
  /* Wakes coalesce while a task is queued: far fewer polls than wakes, but
   * at least one after the last counted wake. */
  assert_true(atomic_load(&w.polls) >= 2);
  zyntax_waker_drop(&w.waker);
  zyntax_task_drop(t);
  end_runtime(rt);
}

static void wake_after_completion_and_after_destroy(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  wakeable w = {0, 0, 0, 0, ZYNTAX_WAKER_EMPTY}; /* ready at once */
  zyntax_task *t = zyntax_runtime_spawn(rt, &w, wakeable_poll);
  assert_int_equal(zyntax_runtime_block_on(rt, t), 0);
  zyntax_waker keep = zyntax_waker_clone(&w.waker);
  zyntax_waker_wake_by_ref(&w.waker); /* finished task: no-op */
  assert_int_equal(zyntax_runtime_run(rt), 0);
  assert_int_equal(atomic_load(&w.polls), 1);
  zyntax_task_drop(t);
  end_runtime(rt);
  zyntax_waker_wake_by_ref(&w.waker); /* runtime gone: still a no-op */
  zyntax_waker_wake(&keep);
  zyntax_waker_drop(&w.waker);
}

static void pending_task_woken_after_destroy(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  wakeable w = {0, 1, 0, 0, ZYNTAX_WAKER_EMPTY}; /* never reaches its target */
  zyntax_task *t = zyntax_runtime_spawn(rt, &w, wakeable_poll);
  drive_until(rt, &w.published, 1);
  end_runtime(rt); /* cancels the pending task */
  assert_int_equal(zyntax_task_status(t), ZYNTAX_ECANCELED);
  zyntax_waker_wake_by_ref(&w.waker);
  zyntax_waker_wake(&w.waker);
  zyntax_task_drop(t);
}

/* Clones many wakers, wakes some, drops the rest, in one poll: the counts
 * must balance (sanitizer and valgrind runs see any leak or double free). */
typedef struct cloner {
  zyntax_waker clones[256];
  atomic_int round;
  atomic_int not_emptied; /* a consumed waker must be left empty */
} cloner;

static zyntax_poll cloner_poll(void *state, const zyntax_waker *waker) {
  cloner *c = state;
  if (atomic_fetch_add(&c->round, 1) > 0) return ZYNTAX_READY;
  for (int i = 0; i < 256; i++) c->clones[i] = zyntax_waker_clone(waker);
  for (int i = 0; i < 256; i++) {
    zyntax_waker nested = zyntax_waker_clone(&c->clones[i]);
    zyntax_waker_drop(&nested);
    if (i % 3 == 0)
      zyntax_waker_wake(&c->clones[i]);
    else
      zyntax_waker_drop(&c->clones[i]);
    if (c->clones[i].vtable != NULL) atomic_store(&c->not_emptied, 1);
  }
  return ZYNTAX_PENDING;
}

static void clone_and_drop_balance(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  cloner c;
  atomic_init(&c.round, 0);
  atomic_init(&c.not_emptied, 0);
  zyntax_task *t = zyntax_runtime_spawn(rt, &c, cloner_poll);
  assert_int_equal(zyntax_runtime_block_on(rt, t), 0);
  assert_int_equal(atomic_load(&c.round), 2);
  assert_int_equal(atomic_load(&c.not_emptied), 0);
  zyntax_task_drop(t);
  end_runtime(rt);
}

static void will_wake_and_store(void **state) {
  (void)state;
  zyntax_waker a = zyntax_waker_noop(), slot = ZYNTAX_WAKER_EMPTY;
  zyntax_waker_store(&slot, &a);
  assert_true(zyntax_waker_will_wake(&slot, &a));
  zyntax_waker_store(&slot, &a); /* same task: kept */
  zyntax_waker_drop(&slot);
  assert_null(slot.vtable);
}

TEST_GROUP(waker_tests) = {
    cmocka_unit_test(wake_from_other_threads),
    cmocka_unit_test(wake_after_completion_and_after_destroy),
    cmocka_unit_test(pending_task_woken_after_destroy),
    cmocka_unit_test(clone_and_drop_balance),
    cmocka_unit_test(will_wake_and_store),
};
const size_t waker_count = GROUP_SIZE(waker_tests);
