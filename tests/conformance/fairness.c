/* Fairness of the run queue: tasks that keep waking each other from their
 * polls (which the C executor runs next, from its LIFO slot) cannot keep
 * a queued task from running. */
#include <pthread.h>
#include <stdlib.h>

#include "conformance.h"

#define PING_LIMIT 100000 /* wakes each side may make before the test fails */
#define SPAWN_AT 10       /* side a's wake that spawns the bystander */
/* Wakes of both sides from the bystander's spawn to its poll, at most: a
 * bounded LIFO slot (Tokio's, the C executor's) lets it run within a few
 * polls; a pass over the run queue is 128 polls at least. */
#define FAIR_WITHIN 32

/* Records how many wakes both sides had made when it ran. */
typedef struct watch {
  atomic_int ran;
  atomic_int *wakes[2];
  int wakes_then;
} watch;

static zyntax_poll bystander(void *state, const zyntax_waker *waker) {
  (void)waker;
  watch *w = state;
  w->wakes_then = atomic_load(w->wakes[0]) + atomic_load(w->wakes[1]);
  atomic_store(&w->ran, 1);
  return ZYNTAX_READY;
}

typedef struct side {
  struct side *other;
  zyntax_waker waker; /* this side's, stored at its first poll */
  atomic_int stored;
  watch *bystander_ran;
  atomic_int wakes;
  zyntax_task *bystander; /* spawned by side a once the ping-pong runs */
} side;

/* The thread that polled the first side; set when a poll ran elsewhere
 * (Tokio's workers): then the sides run in parallel and the bound in wakes
 * means nothing, only that the bystander is not starved. */
static pthread_t first_thread;
static atomic_int first_set, other_thread;

static void note_thread(void) {
  int expected = 0;
  if (atomic_compare_exchange_strong(&first_set, &expected, 1))
    first_thread = pthread_self();
  else if (atomic_load(&first_set) == 1 && !pthread_equal(first_thread, pthread_self()))
    atomic_store(&other_thread, 1);
}


/* Wakes the other side, then waits to be woken; done once the bystander
 * ran, or after PING_LIMIT wakes (starved: the test fails). The side that
 * finishes first wakes the other, which then finishes too. */
static zyntax_poll ping(void *state, const zyntax_waker *waker) {
  side *s = state;
  note_thread();
  if (!atomic_load(&s->stored)) {
    s->waker = zyntax_waker_clone(waker);
    atomic_store(&s->stored, 1);
  }
  int done = atomic_load(&s->bystander_ran->ran) || atomic_load(&s->wakes) >= PING_LIMIT;
  int n = atomic_fetch_add(&s->wakes, 1);
  if (n == SPAWN_AT && s->bystander == NULL) /* side a, the ping-pong under way */
    s->bystander = zyntax_runtime_spawn(zyntax_runtime_current(), s->bystander_ran, bystander);
  if (atomic_load(&s->other->stored))
    zyntax_waker_wake_by_ref(&s->other->waker);
  else
    zyntax_waker_wake_by_ref(waker); /* the other has not run yet */
  return done ? ZYNTAX_READY : ZYNTAX_PENDING;
}

static void tasks_waking_each_other_let_a_queued_task_run(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  atomic_store(&first_set, 0);
  atomic_store(&other_thread, 0);
  watch ran = {.wakes_then = 0};
  atomic_init(&ran.ran, 0);
  side a = {.bystander_ran = &ran}, b = {.bystander_ran = &ran, .bystander = (zyntax_task *)&b};
  ran.wakes[0] = &a.wakes;
  ran.wakes[1] = &b.wakes;
  a.other = &b;
  b.other = &a;
  zyntax_task *ta = zyntax_runtime_spawn(rt, &a, ping);
  zyntax_task *tb = zyntax_runtime_spawn(rt, &b, ping);
  assert_int_equal(zyntax_runtime_run(rt), 0);
  assert_non_null(a.bystander);
  assert_int_equal(atomic_load(&ran.ran), 1);
  assert_true(ran.wakes_then < PING_LIMIT);
  /* side a's wake SPAWN_AT and about as many of b's came before the spawn */
  if (!atomic_load(&other_thread))
    assert_true(ran.wakes_then < 2 * (SPAWN_AT + 1) + FAIR_WITHIN);
  zyntax_task_drop(ta);
  zyntax_task_drop(tb);
  zyntax_task_drop(a.bystander);
  end_runtime(rt);
  zyntax_waker_drop(&a.waker);
  zyntax_waker_drop(&b.waker);
}

TEST_GROUP(fairness_tests) = {
    cmocka_unit_test(tasks_waking_each_other_let_a_queued_task_run),
};
const size_t fairness_count = GROUP_SIZE(fairness_tests);
