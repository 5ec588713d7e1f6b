/* The semaphore (as an async mutex) and the notify. */
#include <pthread.h>
#include <stdlib.h>

#include "conformance.h"

#define WORKERS 8
#define ROUNDS 500

/* Each worker enters a critical section ROUNDS times, yielding inside it so
 * the others really wait for the permit. */
typedef struct shared {
  zyntax_semaphore *sem;
  atomic_int inside, max_inside;
  long counter; /* guarded by the semaphore only */
} shared;

typedef struct worker {
  shared *sh;
  zyntax_acquire *op;
  zyntax_future *yield;
  int rounds, holding;
} worker;

static zyntax_poll worker_poll(void *state, const zyntax_waker *waker) {
  worker *w = state;
  while (w->rounds < ROUNDS) {
    int rc;
    if (!w->holding) {
      if (zyntax_acquire_poll(w->op, waker, &rc) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
      assert_int_equal(rc, 0);
      w->holding = 1;
      int in = atomic_fetch_add(&w->sh->inside, 1) + 1;
      if (in > atomic_load(&w->sh->max_inside)) atomic_store(&w->sh->max_inside, in);
      w->sh->counter++;
      zyntax_yield_future(zyntax_runtime_current(), &w->yield);
    }
    if (zyntax_future_poll(w->yield, waker, &rc) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
    zyntax_future_drop(w->yield);
    w->yield = NULL;
    atomic_fetch_sub(&w->sh->inside, 1);
    w->holding = 0;
    w->rounds++;
    zyntax_semaphore_add_permits(w->sh->sem, 1);
  }
  return ZYNTAX_READY;
}

static void semaphore_as_mutex(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  shared sh = {NULL, 0, 0, 0};
  assert_int_equal(zyntax_semaphore_create(1, &sh.sem), 0);
  worker w[WORKERS];
  zyntax_task *t[WORKERS];
  for (int i = 0; i < WORKERS; i++) {
    w[i] = (worker){&sh, NULL, NULL, 0, 0};
    assert_int_equal(zyntax_acquire_create(sh.sem, &w[i].op), 0);
    t[i] = zyntax_runtime_spawn(rt, &w[i], worker_poll);
  }
  assert_int_equal(zyntax_runtime_run(rt), 0);
  for (int i = 0; i < WORKERS; i++) {
    assert_int_equal(zyntax_task_status(t[i]), 0);
    zyntax_task_drop(t[i]);
    zyntax_acquire_drop(w[i].op);
  }
  assert_int_equal(sh.counter, WORKERS * ROUNDS);
  assert_int_equal(atomic_load(&sh.max_inside), 1);
  assert_int_equal(zyntax_semaphore_try_acquire(sh.sem), 0);
  assert_int_equal(zyntax_semaphore_try_acquire(sh.sem), ZYNTAX_EAGAIN);
  zyntax_semaphore_drop(sh.sem);
  end_runtime(rt);
}

/* FIFO hand-off; a permit handed to a dropped acquire passes on; close. */
static void semaphore_handoff_and_close(void **state) {
  (void)state;
  zyntax_semaphore *sem;
  zyntax_acquire *a, *b, *c;
  assert_int_equal(zyntax_semaphore_create(0, &sem), 0);
  assert_int_equal(zyntax_acquire_create(sem, &a), 0);
  assert_int_equal(zyntax_acquire_create(sem, &b), 0);
  assert_int_equal(zyntax_acquire_create(sem, &c), 0);
  zyntax_waker w = zyntax_waker_noop();
  int rc = -99;
  assert_int_equal(zyntax_acquire_poll(a, &w, &rc), ZYNTAX_PENDING);
  assert_int_equal(zyntax_acquire_poll(b, &w, &rc), ZYNTAX_PENDING);
  assert_int_equal(zyntax_acquire_poll(c, &w, &rc), ZYNTAX_PENDING);
  zyntax_semaphore_add_permits(sem, 1); /* to a */
  assert_int_equal(zyntax_semaphore_try_acquire(sem), ZYNTAX_EAGAIN);
  zyntax_acquire_drop(a); /* never took it: passes to b */
  assert_int_equal(zyntax_acquire_poll(c, &w, &rc), ZYNTAX_PENDING);
  assert_int_equal(zyntax_acquire_poll(b, &w, &rc), ZYNTAX_READY);
  assert_int_equal(rc, 0);
  zyntax_semaphore_close(sem); /* c is told */
  assert_int_equal(zyntax_acquire_poll(c, &w, &rc), ZYNTAX_READY);
  assert_int_equal(rc, ZYNTAX_ECLOSED);
  assert_int_equal(zyntax_semaphore_try_acquire(sem), ZYNTAX_ECLOSED);
  zyntax_semaphore_drop(sem); /* the acquires still hold it */
  zyntax_acquire_drop(b);
  zyntax_acquire_drop(c);
}

typedef struct waiter {
  zyntax_notified *wt;
  atomic_int parked, woken;
  int result;
} waiter;

static zyntax_poll waiter_poll(void *state, const zyntax_waker *waker) {
  waiter *w = state;
  if (zyntax_notified_poll(w->wt, waker, &w->result) == ZYNTAX_PENDING) {
    atomic_store(&w->parked, 1);
    return ZYNTAX_PENDING;
  }
  assert_int_equal(w->result, 0);
  atomic_store(&w->woken, 1);
  return ZYNTAX_READY;
}

static void notify_one_all_and_permit(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  zyntax_notify *n;
  assert_int_equal(zyntax_notify_create(&n), 0);
  waiter w[3];
  zyntax_task *t[3];
  for (int i = 0; i < 3; i++) {
    w[i] = (waiter){NULL, 0, 0, -99};
    assert_int_equal(zyntax_notified_create(n, &w[i].wt), 0);
    t[i] = zyntax_runtime_spawn(rt, &w[i], waiter_poll);
    drive_until(rt, &w[i].parked, 1);
  }
  zyntax_notify_one(n); /* the oldest only */
  assert_int_equal(zyntax_runtime_block_on(rt, t[0]), 0);
  assert_int_equal(atomic_load(&w[1].woken) + atomic_load(&w[2].woken), 0);
  zyntax_notify_all(n);
  assert_int_equal(zyntax_runtime_run(rt), 0);
  assert_int_equal(atomic_load(&w[1].woken) + atomic_load(&w[2].woken), 2);
  /* No waiter: notify_one stores one permit (not two), notify_all none. */
  zyntax_waker nw = zyntax_waker_noop();
  int rc = -99;
  zyntax_notify_all(n);
  assert_int_equal(zyntax_notified_poll(w[0].wt, &nw, &rc), ZYNTAX_PENDING);
  zyntax_notified_drop(w[0].wt);
  zyntax_notify_one(n);
  zyntax_notify_one(n);
  assert_int_equal(zyntax_notified_poll(w[1].wt, &nw, &rc), ZYNTAX_READY);
  assert_int_equal(rc, 0);
  assert_int_equal(zyntax_notified_poll(w[1].wt, &nw, &rc), ZYNTAX_PENDING);
  zyntax_notify_drop(n);
  for (int i = 1; i < 3; i++) zyntax_notified_drop(w[i].wt);
  for (int i = 0; i < 3; i++) zyntax_task_drop(t[i]);
  end_runtime(rt);
}

/* A waiting record keeps its waker clone after READY for its next wait;
 * when the next wait comes from another task, the grant must wake that
 * one (the record swaps the clone), and the first task's clone goes. */
static void notified_record_moves_between_tasks(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  zyntax_notify *n;
  assert_int_equal(zyntax_notify_create(&n), 0);
  waiter a = {NULL, 0, 0, -99};
  assert_int_equal(zyntax_notified_create(n, &a.wt), 0);
  waiter b = {a.wt, 0, 0, -99}; /* the same record, polled by a second task later */
  zyntax_task *ta = zyntax_runtime_spawn(rt, &a, waiter_poll);
  drive_until(rt, &a.parked, 1);
  zyntax_notify_one(n);
  assert_int_equal(zyntax_runtime_block_on(rt, ta), 0);
  assert_int_equal(atomic_load(&a.woken), 1);
  zyntax_task *tb = zyntax_runtime_spawn(rt, &b, waiter_poll);
  drive_until(rt, &b.parked, 1);
  zyntax_task_drop(ta); /* A is done; its kept clone must not matter */
  zyntax_notify_one(n);
  assert_int_equal(zyntax_runtime_block_on(rt, tb), 0);
  assert_int_equal(atomic_load(&b.woken), 1);
  assert_int_equal(b.result, 0);
  zyntax_task_drop(tb);
  zyntax_notified_drop(a.wt);
  zyntax_notify_drop(n);
  end_runtime(rt);
}

/* A notify_one handed to a record that is then dropped unseen passes on:
 * with one waiter (the notify's lock-free slot) and with two (its queue). */
static void notified_drop_passes_grant(void **state) {
  (void)state;
  zyntax_waker nw = zyntax_waker_noop();
  int rc = -99;
  for (int waiters = 1; waiters <= 2; waiters++) {
    zyntax_notify *n;
    zyntax_notified *wt[3];
    assert_int_equal(zyntax_notify_create(&n), 0);
    for (int i = 0; i < 3; i++) assert_int_equal(zyntax_notified_create(n, &wt[i]), 0);
    for (int i = 0; i < waiters; i++)
      assert_int_equal(zyntax_notified_poll(wt[i], &nw, &rc), ZYNTAX_PENDING);
    zyntax_notify_one(n); /* to wt[0], the oldest */
    zyntax_notified_drop(wt[0]); /* unseen: the grant goes on */
    if (waiters == 2) { /* to wt[1], still waiting */
      assert_int_equal(zyntax_notified_poll(wt[1], &nw, &rc), ZYNTAX_READY);
      assert_int_equal(zyntax_notified_poll(wt[2], &nw, &rc), ZYNTAX_PENDING);
    } else { /* stored: the next wait takes it */
      assert_int_equal(zyntax_notified_poll(wt[2], &nw, &rc), ZYNTAX_READY);
      assert_int_equal(zyntax_notified_poll(wt[2], &nw, &rc), ZYNTAX_PENDING);
    }
    assert_int_equal(rc, 0);
    zyntax_notified_drop(wt[1]);
    zyntax_notified_drop(wt[2]);
    zyntax_notify_drop(n);
  }
}

/* A waker whose data is freed with its last clone: a notifier that woke
 * it after the record holding it was dropped would touch freed memory
 * (ASan), or race the drop (TSan). */
typedef struct rc_waker {
  atomic_int refs, wakes;
} rc_waker;

static zyntax_waker rc_clone(const void *d);
static void rc_wake_by_ref(const void *d) { atomic_fetch_add(&((rc_waker *)d)->wakes, 1); }
static void rc_drop(const void *d) {
  if (atomic_fetch_sub(&((rc_waker *)d)->refs, 1) == 1) free((void *)d);
}
static void rc_wake(const void *d) {
  rc_wake_by_ref(d);
  rc_drop(d);
}
static const zyntax_waker_vtable rc_vtable = {rc_clone, rc_wake, rc_wake_by_ref, rc_drop};
static zyntax_waker rc_clone(const void *d) {
  atomic_fetch_add(&((rc_waker *)d)->refs, 1);
  return (zyntax_waker){d, &rc_vtable};
}

#define RACE_ROUNDS 40
#define RACE_WAITS 300

typedef struct race {
  zyntax_notify *n;
  atomic_int stop;
} race;

static void *race_notifier(void *arg) {
  race *r = arg;
  for (unsigned i = 0; !atomic_load(&r->stop); i++) {
    if (i % 7 == 0)
      zyntax_notify_all(r->n);
    else
      zyntax_notify_one(r->n);
  }
  return NULL;
}

/* Each wait: a fresh record and waker, polled (parked, or READY on a
 * stored permit), sometimes polled again with another waker (it takes
 * itself back from the notify to swap it), then dropped while the
 * notifier thread fires - so some drops meet a notifier that has claimed
 * the record and is waking its waker. */
static void *race_waiter(void *arg) {
  race *r = arg;
  for (int i = 0; i < RACE_WAITS; i++) {
    zyntax_notified *wt;
    assert_int_equal(zyntax_notified_create(r->n, &wt), 0);
    rc_waker *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    atomic_init(&a->refs, 1);
    atomic_init(&b->refs, 1);
    zyntax_waker wa = {a, &rc_vtable}, wb = {b, &rc_vtable};
    int rc = -99;
    if (zyntax_notified_poll(wt, &wa, &rc) == ZYNTAX_PENDING && i % 3 == 0)
      (void)zyntax_notified_poll(wt, &wb, &rc);
    zyntax_waker_drop(&wa); /* the record may still hold clones */
    zyntax_waker_drop(&wb);
    zyntax_notified_drop(wt);
  }
  return NULL;
}

/* Drops and waker swaps of waiting records racing notify_one/notify_all
 * from another thread, with one waiting thread (the lock-free slot) and
 * with two (the queue the second one switches the notify to). */
static void notified_drop_races_notify(void **state) {
  (void)state;
  for (int round = 0; round < RACE_ROUNDS; round++) {
    race r = {NULL, 0};
    assert_int_equal(zyntax_notify_create(&r.n), 0);
    int waiters = 1 + round % 2;
    pthread_t notifier, waiters_t[2];
    assert_int_equal(pthread_create(&notifier, NULL, race_notifier, &r), 0);
    for (int i = 0; i < waiters; i++)
      assert_int_equal(pthread_create(&waiters_t[i], NULL, race_waiter, &r), 0);
    for (int i = 0; i < waiters; i++) pthread_join(waiters_t[i], NULL);
    atomic_store(&r.stop, 1);
    pthread_join(notifier, NULL);
    /* Still a working notify: a stored permit or a grant to a new wait. */
    zyntax_notified *wt;
    zyntax_waker nw = zyntax_waker_noop();
    int rc = -99;
    assert_int_equal(zyntax_notified_create(r.n, &wt), 0);
    if (zyntax_notified_poll(wt, &nw, &rc) == ZYNTAX_PENDING) {
      zyntax_notify_one(r.n);
      assert_int_equal(zyntax_notified_poll(wt, &nw, &rc), ZYNTAX_READY);
    }
    assert_int_equal(rc, 0);
    zyntax_notified_drop(wt);
    zyntax_notify_drop(r.n);
  }
}

TEST_GROUP(sync_tests) = {
    cmocka_unit_test(semaphore_as_mutex),
    cmocka_unit_test(semaphore_handoff_and_close),
    cmocka_unit_test(notify_one_all_and_permit),
    cmocka_unit_test(notified_record_moves_between_tasks),
    cmocka_unit_test(notified_drop_passes_grant),
    cmocka_unit_test(notified_drop_races_notify),
};
const size_t sync_count = GROUP_SIZE(sync_tests);
