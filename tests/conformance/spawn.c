/* Spawning: from inside a task, from other threads, states in place. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "conformance.h"

typedef struct fanout {
  counted kids[8];
  int spawned;
} fanout;

static zyntax_poll fanout_poll(void *state, const zyntax_waker *waker) {
  (void)waker;
  fanout *f = state;
  for (int i = 0; i < 8; i++) {
    zyntax_task *t;
    zyntax_runtime_spawn_future(zyntax_runtime_current(), &f->kids[i],
                                &counted_ready_vt, &t);
    if (t != NULL) {
      f->spawned++;
      zyntax_task_drop(t);
    }
  }
  return ZYNTAX_READY;
}

static void spawn_from_inside_a_task(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  fanout f = {0};
  zyntax_task *t = zyntax_runtime_spawn(rt, &f, fanout_poll);
  assert_int_equal(zyntax_runtime_run(rt), 0);
  assert_int_equal(f.spawned, 8);
  for (int i = 0; i < 8; i++) {
    assert_int_equal(atomic_load(&f.kids[i].polls), 1);
    assert_int_equal(atomic_load(&f.kids[i].drops), 1);
  }
  zyntax_task_drop(t);
  end_runtime(rt);
}

#define THREADS 4
#define EACH 500

typedef struct remote {
  zyntax_runtime *rt;
  counted *slots;
  atomic_int spawned;
} remote;

static void *spawner(void *arg) {
  remote *r = arg;
  for (int i = 0; i < EACH; i++) {
    int k = atomic_fetch_add(&r->spawned, 1);
    zyntax_task *t;
    zyntax_runtime_spawn_future(r->rt, &r->slots[k], &counted_ready_vt, &t);
    if (t) zyntax_task_drop(t);
  }
  return NULL;
}

/* READY once each of the `n` slots was dropped (or, `first_poll`, polled). */
typedef struct all_polled {
  counted *slots;
  int n;
  int first_poll;
} all_polled;

static zyntax_poll all_polled_poll(void *state, const zyntax_waker *waker) {
  all_polled *a = state;
  for (int i = 0; i < a->n; i++)
    if (atomic_load(a->first_poll ? &a->slots[i].polls : &a->slots[i].drops) == 0) {
      zyntax_waker_wake_by_ref(waker);
      return ZYNTAX_PENDING;
    }
  return ZYNTAX_READY;
}

static void spawn_from_other_threads(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  counted slots[THREADS * EACH] = {0};
  remote r = {rt, slots, 0};
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, spawner, &r);
  all_polled a = {slots, THREADS * EACH, 0};
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  assert_int_equal(zyntax_runtime_block_on_future(rt, &a, all_polled_poll), 0);
  for (int i = 0; i < THREADS * EACH; i++) {
    assert_int_equal(atomic_load(&slots[i].polls), 1);
    assert_int_equal(atomic_load(&slots[i].drops), 1);
  }
  end_runtime(rt);
}

/* ---- state in place ---- */

typedef struct aligned_state {
  _Alignas(64) char bytes[100];
  atomic_int *drops;
  int seen;
} aligned_state;

static int init_aligned(void *state, void *arg) {
  aligned_state *s = state;
  s->drops = arg;
  s->seen = 0;
  return 0;
}

static int refuse(void *state, void *arg) {
  (void)state, (void)arg;
  return -1;
}

static zyntax_poll aligned_poll(void *state, const zyntax_waker *waker) {
  (void)waker;
  ((aligned_state *)state)->seen = 1;
  return ZYNTAX_READY;
}

static void aligned_drop(void *state) { atomic_fetch_add(((aligned_state *)state)->drops, 1); }

static const zyntax_future_vtable aligned_vt = {aligned_poll, aligned_drop};

static void spawn_with_state_in_place(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  atomic_int drops = 0;
  zyntax_task *t;
  zyntax_runtime_spawn_inplace(rt, &aligned_vt, sizeof(aligned_state),
                               _Alignof(aligned_state), init_aligned, &drops, &t);
  assert_non_null(t);
  aligned_state *s = zyntax_task_state(t);
  assert_non_null(s);
  assert_int_equal((uintptr_t)s % _Alignof(aligned_state), 0);
  assert_int_equal(zyntax_runtime_block_on(rt, t), 0);
  assert_int_equal(s->seen, 1);
  assert_int_equal(atomic_load(&drops), 0);
  zyntax_task_drop(t);
  assert_int_equal(atomic_load(&drops), 1);

  zyntax_runtime_spawn_inplace(rt, &aligned_vt, sizeof(aligned_state), 4096,
                               init_aligned, &drops, &t);
  assert_non_null(t);
  assert_int_equal((uintptr_t)zyntax_task_state(t) % 4096, 0);
  zyntax_task_drop(t); /* detached before it ran: dropped when it ends */
  assert_int_equal(zyntax_runtime_run(rt), 0);
  assert_int_equal(atomic_load(&drops), 2);

  assert_int_equal(zyntax_runtime_spawn_inplace(rt, &aligned_vt, sizeof(aligned_state), 64,
                                                refuse, &drops, &t),
                   ZYNTAX_EINVAL);
  assert_null(t);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_spawn_inplace(rt, &aligned_vt, 16, 3, NULL, NULL, &t),
                   ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_spawn_inplace(rt, &aligned_vt, 0, 8, NULL, NULL, &t),
                   ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_spawn_inplace(rt, &aligned_vt, 16, 8192, NULL, NULL, &t),
                   ZYNTAX_EINVAL);
  end_runtime(rt);
  assert_int_equal(atomic_load(&drops), 2); /* the refused one never dropped */
}

/* ---- detached spawns ---- */

/* A detached task's state: its counters, and how many polls it waits
 * (waking itself) before READY. */
typedef struct detached_state {
  counted *c;
  int pending;
} detached_state;

static int init_detached(void *state, void *arg) {
  *(detached_state *)state = *(const detached_state *)arg;
  return 0;
}

static zyntax_poll detached_poll(void *state, const zyntax_waker *waker) {
  detached_state *s = state;
  atomic_fetch_add(&s->c->polls, 1);
  if (s->pending-- > 0) {
    zyntax_waker_wake_by_ref(waker);
    return ZYNTAX_PENDING;
  }
  return ZYNTAX_READY;
}

static zyntax_poll detached_never(void *state, const zyntax_waker *waker) {
  (void)waker;
  atomic_fetch_add(&((detached_state *)state)->c->polls, 1);
  return ZYNTAX_PENDING; /* nobody wakes it: only destroy ends it */
}

static void detached_drop(void *state) { atomic_fetch_add(&((detached_state *)state)->c->drops, 1); }

static const zyntax_future_vtable detached_vt = {detached_poll, detached_drop};
static const zyntax_future_vtable detached_never_vt = {detached_never, detached_drop};

static int spawn_detached(zyntax_runtime *rt, const zyntax_future_vtable *vt, counted *c,
                          int pending) {
  detached_state s = {c, pending};
  return zyntax_runtime_spawn_detached(rt, vt, sizeof s, _Alignof(detached_state),
                                       init_detached, &s);
}

#define DETACHED 64

/* Detached tasks run to the end with no handle: each polled until READY,
 * its state dropped once right then; run() waits for them; the stats
 * count them as spawned and completed. */
static void detached_tasks_run_and_drop_once(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  zyntax_stats before = {.size = sizeof before}, after = {.size = sizeof after};
  assert_int_equal(zyntax_runtime_stats(rt, &before), 0);
  counted c[DETACHED] = {0};
  for (int i = 0; i < DETACHED; i++)
    assert_int_equal(spawn_detached(rt, &detached_vt, &c[i], i % 4), 0);
  assert_int_equal(zyntax_runtime_run(rt), 0);
  for (int i = 0; i < DETACHED; i++) {
    assert_int_equal(atomic_load(&c[i].polls), i % 4 + 1);
    assert_int_equal(atomic_load(&c[i].drops), 1);
  }
  assert_int_equal(zyntax_runtime_stats(rt, &after), 0);
  assert_int_equal(after.tasks_spawned - before.tasks_spawned, DETACHED);
  assert_int_equal(after.tasks_completed - before.tasks_completed, DETACHED);
  end_runtime(rt);
  for (int i = 0; i < DETACHED; i++) assert_int_equal(atomic_load(&c[i].drops), 1);
}

/* Detached spawns from a poll function and from other threads. */
typedef struct detached_fanout {
  counted *kids;
  int n, refused;
} detached_fanout;

static zyntax_poll detached_fanout_poll(void *state, const zyntax_waker *waker) {
  (void)waker;
  detached_fanout *f = state;
  for (int i = 0; i < f->n; i++)
    if (spawn_detached(zyntax_runtime_current(), &detached_vt, &f->kids[i], 1) != 0)
      f->refused++;
  return ZYNTAX_READY;
}

typedef struct detached_remote {
  zyntax_runtime *rt;
  counted *slots;
  atomic_int next, refused;
} detached_remote;

static void *detached_spawner(void *arg) {
  detached_remote *r = arg;
  for (int i = 0; i < EACH; i++) {
    int k = atomic_fetch_add(&r->next, 1);
    if (spawn_detached(r->rt, &detached_vt, &r->slots[k], k % 2) != 0)
      atomic_fetch_add(&r->refused, 1);
  }
  return NULL;
}

static void detached_spawns_from_tasks_and_threads(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  counted kids[DETACHED] = {0};
  detached_fanout f = {kids, DETACHED, 0};
  assert_int_equal(zyntax_runtime_block_on_future(rt, &f, detached_fanout_poll), 0);
  assert_int_equal(zyntax_runtime_run(rt), 0);
  assert_int_equal(f.refused, 0);
  for (int i = 0; i < DETACHED; i++) {
    assert_int_equal(atomic_load(&kids[i].polls), 2);
    assert_int_equal(atomic_load(&kids[i].drops), 1);
  }

  static counted slots[THREADS * EACH];
  memset(slots, 0, sizeof slots);
  detached_remote r = {rt, slots, 0, 0};
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, detached_spawner, &r);
  all_polled a = {slots, THREADS * EACH, 0};
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  assert_int_equal(atomic_load(&r.refused), 0);
  assert_int_equal(zyntax_runtime_block_on_future(rt, &a, all_polled_poll), 0);
  for (int i = 0; i < THREADS * EACH; i++) {
    assert_int_equal(atomic_load(&slots[i].polls), i % 2 + 1);
    assert_int_equal(atomic_load(&slots[i].drops), 1);
  }
  end_runtime(rt);
}

/* Destroy cancels unfinished detached tasks, polled or not yet, and drops
 * each state once. */
static void destroy_drops_unfinished_detached_tasks(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  counted c[DETACHED] = {0};
  for (int i = 0; i < DETACHED / 2; i++)
    assert_int_equal(spawn_detached(rt, &detached_never_vt, &c[i], 0), 0);
  all_polled first_half = {c, DETACHED / 2, 1};
  assert_int_equal(zyntax_runtime_block_on_future(rt, &first_half, all_polled_poll), 0);
  /* Not driven again: polled only by a multi-threaded backend's workers. */
  for (int i = DETACHED / 2; i < DETACHED; i++)
    assert_int_equal(spawn_detached(rt, &detached_never_vt, &c[i], 0), 0);
  for (int i = 0; i < DETACHED; i++) assert_int_equal(atomic_load(&c[i].drops), 0);
  end_runtime(rt);
  for (int i = 0; i < DETACHED; i++) {
    if (i < DETACHED / 2)
      assert_int_equal(atomic_load(&c[i].polls), 1);
    else
      assert_in_range(atomic_load(&c[i].polls), 0, 1);
    assert_int_equal(atomic_load(&c[i].drops), 1);
  }
}

/* Bad arguments: a clear error, nothing spawned, no drop. */
static void detached_spawn_refuses_bad_arguments(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  counted c = {0, 0};
  detached_state s = {&c, 0};
  assert_int_equal(zyntax_runtime_spawn_detached(NULL, &detached_vt, sizeof s, 8, init_detached, &s),
                   ZYNTAX_EINVAL);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_spawn_detached(rt, NULL, sizeof s, 8, init_detached, &s),
                   ZYNTAX_EINVAL);
  static const zyntax_future_vtable no_poll = {NULL, detached_drop};
  assert_int_equal(zyntax_runtime_spawn_detached(rt, &no_poll, sizeof s, 8, init_detached, &s),
                   ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_spawn_detached(rt, &detached_vt, 0, 8, init_detached, &s),
                   ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_spawn_detached(rt, &detached_vt, sizeof s, 3, init_detached, &s),
                   ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_spawn_detached(rt, &detached_vt, sizeof s, 8192, init_detached,
                                                 &s),
                   ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_spawn_detached(rt, &detached_vt, sizeof s, 8, refuse, &s),
                   ZYNTAX_EINVAL);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_run(rt), 0);
  end_runtime(rt);
  assert_int_equal(atomic_load(&c.polls), 0);
  assert_int_equal(atomic_load(&c.drops), 0);
}

TEST_GROUP(spawn_tests) = {
    cmocka_unit_test(spawn_from_inside_a_task),
    cmocka_unit_test(spawn_from_other_threads),
    cmocka_unit_test(spawn_with_state_in_place),
    cmocka_unit_test(detached_tasks_run_and_drop_once),
    cmocka_unit_test(detached_spawns_from_tasks_and_threads),
    cmocka_unit_test(destroy_drops_unfinished_detached_tasks),
    cmocka_unit_test(detached_spawn_refuses_bad_arguments),
};
const size_t spawn_count = GROUP_SIZE(spawn_tests);
