/* Task-count and wake-count stress: a million tasks, a hundred thousand
 * pending at destroy, wake storms from many threads, spawns from many
 * threads. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "stress.h"

static atomic_long drops;
static atomic_long completions;

static zyntax_poll ready_poll(void *state, const zyntax_waker *waker) {
  (void)state, (void)waker;
  atomic_fetch_add_explicit(&completions, 1, memory_order_relaxed);
  return ZYNTAX_READY;
}

static zyntax_poll pending_poll(void *state, const zyntax_waker *waker) {
  (void)state, (void)waker;
  return ZYNTAX_PENDING;
}

static void count_drop(void *state) {
  (void)state;
  atomic_fetch_add_explicit(&drops, 1, memory_order_relaxed);
}

static const zyntax_future_vtable ready_vt = {ready_poll, count_drop};
static const zyntax_future_vtable pending_vt = {pending_poll, count_drop};

static void reset(void) {
  atomic_store(&drops, 0);
  atomic_store(&completions, 0);
}

/* ---- a million short tasks, spawned in batches by a task ---- */

#define MILLION 1000000L
#define BATCH 10000L

typedef struct spawner {
  long spawned;
  zyntax_future *yield;
} spawner;

static zyntax_poll spawner_poll(void *state, const zyntax_waker *waker) {
  spawner *s = state;
  zyntax_runtime *rt = zyntax_runtime_current();
  for (;;) {
    if (s->yield != NULL) {
      int rc;
      if (zyntax_future_poll(s->yield, waker, &rc) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
      zyntax_future_drop(s->yield);
      s->yield = NULL;
    }
    if (s->spawned == MILLION) return ZYNTAX_READY;
    for (long i = 0; i < BATCH; i++) {
      zyntax_task *t;
      zyntax_runtime_spawn_future(rt, NULL, &ready_vt, &t);
      if (t == NULL) return ZYNTAX_READY; /* the counts will show it */
      zyntax_task_drop(t);
    }
    s->spawned += BATCH;
    zyntax_yield_future(rt, &s->yield); /* let the batch run */
  }
}

void stress_million_tasks(void **state) {
  (void)state;
  reset();
  zyntax_runtime *rt = test_runtime();
  spawner s = {0, NULL};
  zyntax_task *t = zyntax_runtime_spawn(rt, &s, spawner_poll);
  assert_non_null(t);
  assert_int_equal(zyntax_runtime_run(rt), 0);
  assert_int_equal(s.spawned, MILLION);
  assert_int_equal(atomic_load(&completions), MILLION);
  assert_int_equal(atomic_load(&drops), MILLION);
  zyntax_stats st = {.size = sizeof st};
  assert_int_equal(zyntax_runtime_stats(rt, &st), 0);
  assert_int_equal(st.tasks_spawned, MILLION + 1);
  assert_int_equal(st.tasks_completed, MILLION + 1);
  zyntax_task_drop(t);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
}

/* ---- a hundred thousand tasks pending at destroy ---- */

#define PENDING 100000

void stress_pending_at_destroy(void **state) {
  (void)state;
  reset();
  zyntax_runtime *rt = test_runtime();
  zyntax_task **kept = calloc(PENDING / 2, sizeof *kept);
  assert_non_null(kept);
  for (int i = 0; i < PENDING; i++) {
    zyntax_task *t;
    assert_int_equal(zyntax_runtime_spawn_future(rt, NULL, &pending_vt, &t), 0);
    if (i % 2)
      kept[i / 2] = t; /* keep half the handles across destroy */
    else
      zyntax_task_drop(t);
  }
  /* Poll every task once: all of them are then pending, not merely queued. */
  spawner idle = {MILLION, NULL};
  assert_int_equal(zyntax_runtime_block_on_future(rt, &idle, spawner_poll), 0);
  assert_int_equal(atomic_load(&drops), 0);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
  assert_int_equal(atomic_load(&drops), PENDING);
  for (int i = 0; i < PENDING / 2; i++) {
    assert_int_equal(zyntax_task_status(kept[i]), ZYNTAX_ECANCELED);
    assert_null(zyntax_task_state(kept[i]));
    zyntax_task_drop(kept[i]);
  }
  free(kept);
  assert_int_equal(atomic_load(&drops), PENDING);
}

/* ---- wake storm: 8 threads x 100,000 wakes while tasks complete and are
 * cancelled ---- */

#define STORM_TASKS 64
#define STORM_THREADS 8
#define STORM_WAKES 100000
#define POLLS_TO_FINISH 200

typedef struct storm_task {
  atomic_int polls;
  atomic_int published;
  zyntax_waker waker; /* a clone, published once, dropped by the test */
} storm_task;

typedef struct storm {
  storm_task tasks[STORM_TASKS];
  zyntax_task *handles[STORM_TASKS];
  atomic_int ready_threads;
  atomic_int done_threads;
} storm;

/* Set once every storm thread finished: coalesced wakes mean a task may
 * not reach POLLS_TO_FINISH, so the end of the storm also ends it. */
static atomic_int storm_over;

static zyntax_poll storm_poll(void *state, const zyntax_waker *waker) {
  storm_task *t = state;
  if (!atomic_load(&t->published)) {
    t->waker = zyntax_waker_clone(waker);
    atomic_store(&t->published, 1);
  }
  if (atomic_fetch_add(&t->polls, 1) + 1 >= POLLS_TO_FINISH) return ZYNTAX_READY;
  if (atomic_load(&storm_over)) return ZYNTAX_READY;
  return ZYNTAX_PENDING;
}

static void storm_drop(void *state) { count_drop(state); }

static const zyntax_future_vtable storm_vt = {storm_poll, storm_drop};

static void *storm_thread(void *arg) {
  storm *s = arg;
  unsigned seed = (unsigned)atomic_fetch_add(&s->ready_threads, 1);
  for (int i = 0; i < STORM_WAKES; i++) {
    storm_task *t = &s->tasks[rand_r(&seed) % STORM_TASKS];
    if (i % 3 == 0) {
      zyntax_waker w = zyntax_waker_clone(&t->waker); /* clone, consume */
      zyntax_waker_wake(&w);
    } else {
      zyntax_waker_wake_by_ref(&t->waker);
    }
    if (i == STORM_WAKES / 2 && seed % 2 == 0) /* cancel some midway */
      for (int k = (int)(seed % 4u); k < STORM_TASKS; k += 4) zyntax_task_cancel(s->handles[k]);
  }
  atomic_fetch_add(&s->done_threads, 1);
  return NULL;
}

typedef struct gate {
  storm *storm;
  pthread_t threads[STORM_THREADS];
  int started;
} gate;

/* Waits until every storm task published its waker, then starts the
 * threads; finishes when every task finished. Polled as the root future. */
static zyntax_poll gate_poll(void *state, const zyntax_waker *waker) {
  gate *g = state;
  storm *s = g->storm;
  int published = 0, finished = 0;
  for (int i = 0; i < STORM_TASKS; i++) {
    published += atomic_load(&s->tasks[i].published);
    finished += zyntax_task_status(s->handles[i]) != ZYNTAX_NOT_FINISHED;
  }
  if (!g->started && published == STORM_TASKS) {
    for (int i = 0; i < STORM_THREADS; i++)
      pthread_create(&g->threads[i], NULL, storm_thread, s);
    g->started = 1;
  }
  if (g->started && atomic_load(&s->done_threads) == STORM_THREADS &&
      !atomic_exchange(&storm_over, 1))
    for (int i = 0; i < STORM_TASKS; i++) zyntax_waker_wake_by_ref(&s->tasks[i].waker);
  if (g->started && finished == STORM_TASKS) return ZYNTAX_READY;
  zyntax_waker_wake_by_ref(waker); /* keep looking: a busy poll, bounded */
  return ZYNTAX_PENDING;
}

void stress_wake_storm(void **state) {
  (void)state;
  reset();
  zyntax_runtime *rt = test_runtime();
  atomic_store(&storm_over, 0);
  storm *s = calloc(1, sizeof *s);
  assert_non_null(s);
  for (int i = 0; i < STORM_TASKS; i++) {
    assert_int_equal(zyntax_runtime_spawn_future(rt, &s->tasks[i], &storm_vt, &s->handles[i]), 0);
  }
  gate g = {.storm = s};
  assert_int_equal(zyntax_runtime_block_on_future(rt, &g, gate_poll), 0);
  for (int i = 0; i < STORM_THREADS; i++) pthread_join(g.threads[i], NULL);
  int completed = 0, cancelled = 0;
  for (int i = 0; i < STORM_TASKS; i++) {
    int st = zyntax_task_status(s->handles[i]);
    completed += st == 0;
    cancelled += st == ZYNTAX_ECANCELED;
    zyntax_task_drop(s->handles[i]);
  }
  assert_int_equal(completed + cancelled, STORM_TASKS);
  assert_int_equal(atomic_load(&drops), STORM_TASKS);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
  for (int i = 0; i < STORM_TASKS; i++) zyntax_waker_wake(&s->tasks[i].waker); /* after destroy */
  free(s);
}

/* ---- spawns from many threads at once ---- */

#define SPAWN_THREADS 8
#define SPAWNS_EACH 10000

typedef struct spawn_gate {
  zyntax_runtime *rt;
  atomic_int failures;
} spawn_gate;

static void *spawn_thread(void *arg) {
  spawn_gate *g = arg;
  for (int i = 0; i < SPAWNS_EACH; i++) {
    zyntax_task *t;
    zyntax_runtime_spawn_future(g->rt, NULL, &ready_vt, &t);
    if (t == NULL)
      atomic_fetch_add(&g->failures, 1);
    else
      zyntax_task_drop(t);
  }
  return NULL;
}

static zyntax_poll all_done_poll(void *state, const zyntax_waker *waker) {
  spawn_gate *g = state;
  long expected = (long)SPAWN_THREADS * SPAWNS_EACH - atomic_load(&g->failures);
  if (atomic_load(&completions) == expected) return ZYNTAX_READY;
  zyntax_waker_wake_by_ref(waker);
  return ZYNTAX_PENDING;
}

void stress_spawn_from_threads(void **state) {
  (void)state;
  reset();
  zyntax_runtime *rt = test_runtime();
  spawn_gate g = {rt, 0};
  pthread_t th[SPAWN_THREADS];
  for (int i = 0; i < SPAWN_THREADS; i++) pthread_create(&th[i], NULL, spawn_thread, &g);
  /* The runtime runs while the threads spawn into it. */
  assert_int_equal(zyntax_runtime_block_on_future(rt, &g, all_done_poll), 0);
  for (int i = 0; i < SPAWN_THREADS; i++) pthread_join(th[i], NULL);
  assert_int_equal(atomic_load(&g.failures), 0);
  assert_int_equal(zyntax_runtime_run(rt), 0);
  assert_int_equal(atomic_load(&completions), SPAWN_THREADS * SPAWNS_EACH);
  assert_int_equal(atomic_load(&drops), SPAWN_THREADS * SPAWNS_EACH);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
}
