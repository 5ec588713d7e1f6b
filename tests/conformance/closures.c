/* Async closures (docs/streams-and-channels.md, "Async closures"): a
 * closure's captured environment lives in its state struct; drop releases
 * it exactly once - on completion, on cancel and on runtime destroy. Here a
 * closure-shaped task is spawned many times from one reference-counted
 * environment, as `let f = async move |x| ...; for x in .. { spawn(f(x)) }`
 * compiles. */
#include <stdlib.h>

#include "conformance.h"

#define SPAWNS 60 /* a third complete, a third cancelled, a third destroyed */

typedef struct env {
  atomic_int refs;
  atomic_long sum; /* what completed closures added */
  int base;        /* a captured value */
} env;

static atomic_int envs_freed;

static env *env_ref(env *e) {
  atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
  return e;
}

static void env_unref(env *e) {
  if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1) return;
  atomic_fetch_add(&envs_freed, 1);
  free(e);
}

/* The closure's state: the state id, the captured env, the argument, the
 * live future of its await point. */
typedef struct closure {
  uint32_t state_id;
  env *env;
  int x;
  zyntax_future *yield;
} closure;

static zyntax_poll closure_poll(void *state, const zyntax_waker *waker) {
  closure *c = state;
  if (c->x % 3 != 0) { /* x % 3 == 1: cancelled; == 2: destroyed */
    c->state_id = 1;
    return ZYNTAX_PENDING; /* never woken */
  }
  int rc;
  if (c->yield == NULL) zyntax_yield_future(zyntax_runtime_current(), &c->yield);
  if (zyntax_future_poll(c->yield, waker, &rc) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  atomic_fetch_add(&c->env->sum, c->env->base + c->x);
  c->state_id = 2;
  return ZYNTAX_READY;
}

static void closure_drop(void *state) {
  closure *c = state;
  zyntax_future_drop(c->yield); /* a live local */
  env_unref(c->env);           /* the captures, once */
  c->env = NULL;
}

static const zyntax_future_vtable closure_vt = {closure_poll, closure_drop};

typedef struct call {
  env *env;
  int x;
} call;

static int closure_init(void *state, void *arg) {
  call *k = arg;
  *(closure *)state = (closure){0, env_ref(k->env), k->x, NULL};
  return 0;
}

static void closure_spawned_many_times(void **state) {
  (void)state;
  atomic_store(&envs_freed, 0);
  zyntax_runtime *rt = new_runtime();
  env *e = malloc(sizeof *e);
  atomic_init(&e->refs, 1);
  atomic_init(&e->sum, 0);
  e->base = 1000;
  zyntax_task *t[SPAWNS];
  for (int x = 0; x < SPAWNS; x++) {
    call k = {e, x};
    zyntax_runtime_spawn_inplace(rt, &closure_vt, sizeof(closure),
                                 _Alignof(closure), closure_init, &k, &t[x]);
    assert_non_null(t[x]);
  }
  assert_int_equal(atomic_load(&e->refs), SPAWNS + 1);
  long expect = 0;
  for (int x = 0; x < SPAWNS; x += 3) {
    assert_int_equal(zyntax_runtime_block_on(rt, t[x]), 0);
    expect += 1000 + x;
  }
  assert_int_equal(atomic_load(&e->sum), expect);
  for (int x = 0; x < SPAWNS; x += 3) zyntax_task_drop(t[x]); /* drops now */
  assert_int_equal(atomic_load(&e->refs), SPAWNS - SPAWNS / 3 + 1);
  for (int x = 1; x < SPAWNS; x += 3) assert_int_equal(zyntax_task_cancel(t[x]), 0);
  for (int x = 1; x < SPAWNS; x += 3)
    assert_int_equal(zyntax_runtime_block_on(rt, t[x]), ZYNTAX_ECANCELED);
  assert_int_equal(atomic_load(&e->refs), SPAWNS / 3 + 1);
  end_runtime(rt); /* the last third is dropped by destroy */
  assert_int_equal(atomic_load(&e->refs), 1);
  assert_int_equal(atomic_load(&envs_freed), 0);
  for (int x = 0; x < SPAWNS; x++)
    if (x % 3 != 0) zyntax_task_drop(t[x]);
  assert_int_equal(atomic_load(&envs_freed), 0);
  env_unref(e); /* the spawner's own reference: now it goes, exactly once */
  assert_int_equal(atomic_load(&envs_freed), 1);
}

TEST_GROUP(closure_tests) = {
    cmocka_unit_test(closure_spawned_many_times),
};
const size_t closure_count = GROUP_SIZE(closure_tests);
