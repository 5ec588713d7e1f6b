/* Spawning: from inside a task, from other threads, states in place. */
#include <pthread.h>
#include <stdint.h>

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

typedef struct all_polled {
  counted *slots;
  int n;
} all_polled;

static zyntax_poll all_polled_poll(void *state, const zyntax_waker *waker) {
  all_polled *a = state;
  for (int i = 0; i < a->n; i++)
    if (atomic_load(&a->slots[i].drops) == 0) {
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
  all_polled a = {slots, THREADS * EACH};
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

TEST_GROUP(spawn_tests) = {
    cmocka_unit_test(spawn_from_inside_a_task),
    cmocka_unit_test(spawn_from_other_threads),
    cmocka_unit_test(spawn_with_state_in_place),
};
const size_t spawn_count = GROUP_SIZE(spawn_tests);
