/* Misuse: every wrong call gets its documented error; none crashes, hangs
 * or leaks. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <zyntax/runtime.h>

#include "support.h"


static zyntax_poll ready(void *state, const zyntax_waker *waker) {
  (void)state, (void)waker;
  return ZYNTAX_READY;
}

static zyntax_poll never(void *state, const zyntax_waker *waker) {
  (void)state, (void)waker;
  return ZYNTAX_PENDING;
}

/* ---- a waker whose vtable was left NULL is inert ---- */

static void null_waker_vtable(void **state) {
  (void)state;
  int x;
  zyntax_waker w = {&x, NULL};
  zyntax_waker c = zyntax_waker_clone(&w);
  assert_null(c.vtable);
  zyntax_waker_wake_by_ref(&w);
  zyntax_waker_wake(&w);
  zyntax_waker_drop(&w);
  zyntax_waker_wake(NULL);
  zyntax_waker_drop(NULL);
}

/* ---- re-entrant calls from inside a poll ---- */

typedef struct reentry {
  zyntax_runtime *own, *other;
  int block_on, block_on_other, run, destroy_own, destroy_other, block_on_future;
} reentry;

static zyntax_poll reentrant_poll(void *state, const zyntax_waker *waker) {
  reentry *r = state;
  zyntax_task *t = zyntax_runtime_spawn(r->own, NULL, ready);
  r->block_on = zyntax_runtime_block_on(r->own, t);
  r->block_on_future = zyntax_runtime_block_on_future(r->own, NULL, ready);
  r->run = zyntax_runtime_run(r->own);
  r->block_on_other = zyntax_runtime_run(r->other);
  r->destroy_own = zyntax_runtime_destroy(r->own);
  r->destroy_other = zyntax_runtime_destroy(r->other); /* idle: allowed */
  zyntax_task_drop(t);
  (void)waker;
  return ZYNTAX_READY;
}

static void reentrant_calls(void **state) {
  (void)state;
  reentry r = {test_runtime(), test_runtime(), 1, 1, 1, 1, 1, 1};
  assert_int_equal(zyntax_runtime_block_on_future(r.own, &r, reentrant_poll), 0);
  assert_int_equal(r.block_on, ZYNTAX_EREENTRANT);
  assert_int_equal(r.block_on_future, ZYNTAX_EREENTRANT);
  assert_int_equal(r.run, ZYNTAX_EREENTRANT);
  assert_int_equal(r.block_on_other, ZYNTAX_EREENTRANT);
  assert_int_equal(r.destroy_own, ZYNTAX_EBUSY);
  assert_int_equal(r.destroy_other, 0);
  assert_int_equal(zyntax_runtime_destroy(r.own), 0);
}

/* ---- a second thread while one drives ---- */

typedef struct second {
  zyntax_runtime *rt;
  atomic_int driving, done;
  int destroy_rc, block_on_rc;
} second;

static void *second_thread(void *arg) {
  second *s = arg;
  while (!atomic_load(&s->driving)) {
  }
  s->destroy_rc = zyntax_runtime_destroy(s->rt);
  s->block_on_rc = zyntax_runtime_block_on_future(s->rt, NULL, ready);
  atomic_store(&s->done, 1);
  return NULL;
}

static zyntax_poll wait_for_second(void *state, const zyntax_waker *waker) {
  second *s = state;
  atomic_store(&s->driving, 1);
  if (atomic_load(&s->done)) return ZYNTAX_READY;
  zyntax_waker_wake_by_ref(waker);
  return ZYNTAX_PENDING;
}

static void second_thread_while_driving(void **state) {
  (void)state;
  second s = {test_runtime(), 0, 0, 1, 1};
  pthread_t th;
  pthread_create(&th, NULL, second_thread, &s);
  assert_int_equal(zyntax_runtime_block_on_future(s.rt, &s, wait_for_second), 0);
  pthread_join(th, NULL);
  assert_int_equal(s.destroy_rc, ZYNTAX_EBUSY);
  assert_int_equal(s.block_on_rc, ZYNTAX_EBUSY);
  assert_int_equal(zyntax_runtime_destroy(s.rt), 0);
}

/* ---- poll functions returning garbage ---- */

static atomic_int drops;
static zyntax_poll garbage(void *state, const zyntax_waker *waker) {
  (void)state, (void)waker;
  return (zyntax_poll)-3;
}
static void count_drop(void *state) {
  (void)state;
  atomic_fetch_add(&drops, 1);
}
static const zyntax_future_vtable garbage_vt = {garbage, count_drop};

static void out_of_range_poll_value(void **state) {
  (void)state;
  atomic_store(&drops, 0);
  zyntax_runtime *rt = test_runtime();
  zyntax_task *t;
  zyntax_runtime_spawn_future(rt, NULL, &garbage_vt, &t);
  assert_int_equal(zyntax_runtime_block_on(rt, t), ZYNTAX_EBADPOLL);
  assert_int_equal(zyntax_task_status(t), ZYNTAX_EBADPOLL);
  assert_null(zyntax_task_state(t));
  assert_int_equal(atomic_load(&drops), 1);
  assert_int_equal(zyntax_runtime_block_on_future(rt, NULL, garbage), ZYNTAX_EBADPOLL);
  zyntax_stats st = {.size = sizeof st};
  zyntax_runtime_stats(rt, &st);
  assert_int_equal(st.tasks_failed, 1);
  zyntax_task_drop(t);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
  assert_int_equal(atomic_load(&drops), 1);
}

/* ---- handles ---- */

static void double_drop_of_a_live_task(void **state) {
  (void)state;
  zyntax_runtime *rt = test_runtime();
  zyntax_task *t = zyntax_runtime_spawn(rt, NULL, never);
  zyntax_task_drop(t);
  /* The runtime still holds the unfinished task, so the record is alive
   * and the second drop is detected and recorded. */
  zyntax_task_drop(t);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
}

static void task_of_another_runtime(void **state) {
  (void)state;
  zyntax_runtime *a = test_runtime(), *b = test_runtime();
  zyntax_task *t = zyntax_runtime_spawn(a, NULL, ready);
  assert_int_equal(zyntax_runtime_block_on(b, t), ZYNTAX_EFOREIGN);
  assert_int_equal(zyntax_runtime_block_on(a, t), 0);
  zyntax_task_drop(t);
  assert_int_equal(zyntax_runtime_destroy(a), 0);
  assert_int_equal(zyntax_runtime_destroy(b), 0);
}

/* A leaf future polled from a task of another runtime. */
typedef struct foreign {
  zyntax_future *f;
  int result;
} foreign;

static zyntax_poll poll_foreign(void *state, const zyntax_waker *waker) {
  foreign *s = state;
  if (zyntax_future_poll(s->f, waker, &s->result) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  return ZYNTAX_READY;
}

static void leaf_future_of_another_runtime(void **state) {
  (void)state;
  zyntax_runtime *a = test_runtime(), *b = test_runtime();
  foreign s = {NULL, 0};
  assert_int_equal(zyntax_sleep_future(a, 1000000000, &s.f), 0);
  assert_int_equal(zyntax_runtime_block_on_future(b, &s, poll_foreign), 0);
  assert_int_equal(s.result, ZYNTAX_EFOREIGN);
  zyntax_future_drop(s.f);
  assert_int_equal(zyntax_runtime_destroy(a), 0);
  assert_int_equal(zyntax_runtime_destroy(b), 0);
}

/* ---- spawning from a drop function during destroy ---- */

static zyntax_runtime *dying;
static atomic_int spawn_in_drop_rc;
static void spawning_drop(void *state) {
  (void)state;
  zyntax_task *t = zyntax_runtime_spawn(dying, NULL, ready);
  atomic_store(&spawn_in_drop_rc, t ? 0 : zyntax_last_error()->code);
}
static const zyntax_future_vtable spawning_vt = {never, spawning_drop};

static void spawn_during_destroy(void **state) {
  (void)state;
  dying = test_runtime();
  zyntax_task *t;
  zyntax_runtime_spawn_future(dying, NULL, &spawning_vt, &t);
  zyntax_task_drop(t);
  assert_int_equal(zyntax_runtime_destroy(dying), 0);
  assert_int_equal(atomic_load(&spawn_in_drop_rc), ZYNTAX_ECLOSED);
}

/* ---- fork ---- */

static void nothing(void *arg) { (void)arg; }

/* 1 unless the constructor returned EFORKED, recorded, with `*out` NULL. */
static int forked_fails(int rc, zyntax_future *const *out) {
  return rc != ZYNTAX_EFORKED || *out != NULL ||
         zyntax_last_error()->code != ZYNTAX_EFORKED;
}

/* In the child every call on the inherited runtime or its tasks fails with
 * EFORKED: constructors, task status/cancel/join included; a task drop
 * does nothing there and records EFORKED. */
static void fork_child_refuses_inherited_runtime(void **state) {
  (void)state;
  zyntax_runtime *rt = test_runtime();
  zyntax_task *t = zyntax_runtime_spawn(rt, NULL, ready);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int bad = 0;
    bad |= zyntax_runtime_block_on(rt, t) != ZYNTAX_EFORKED;
    bad |= zyntax_runtime_run(rt) != ZYNTAX_EFORKED;
    bad |= zyntax_runtime_spawn(rt, NULL, ready) != NULL;
    bad |= zyntax_last_error()->code != ZYNTAX_EFORKED;
    bad |= zyntax_runtime_destroy(rt) != ZYNTAX_EFORKED;
    /* Exit status: which check failed (bit 0: the ones above). */
    zyntax_future *f;
    if (forked_fails(zyntax_sleep_future(rt, 1000, &f), &f)) bad |= 2;
    if (forked_fails(zyntax_fd_wait_future(rt, 0, ZYNTAX_READABLE, &f), &f)) bad |= 2;
    if (forked_fails(zyntax_blocking_future(rt, nothing, NULL, &f), &f)) bad |= 4;
    if (forked_fails(zyntax_yield_future(rt, &f), &f)) bad |= 4;
    if (zyntax_task_status(t) != ZYNTAX_EFORKED) bad |= 8;
    if (zyntax_task_cancel(t) != ZYNTAX_EFORKED) bad |= 16;
    if (forked_fails(zyntax_task_join_future(t, &f), &f)) bad |= 32;
    zyntax_runtime_options o = ZYNTAX_RUNTIME_OPTIONS_INIT;
    o.backend = "no-such-backend"; /* leaves another error to overwrite */
    zyntax_runtime *none;
    zyntax_runtime_create_with(&o, &none);
    zyntax_task_drop(t);
    if (zyntax_last_error()->code != ZYNTAX_EFORKED) bad |= 64;
    zyntax_runtime *fresh = zyntax_runtime_create(); /* the child's own */
    bad |= fresh == NULL || zyntax_runtime_block_on_future(fresh, NULL, ready) != 0;
    if (fresh) bad |= zyntax_runtime_destroy(fresh) != 0;
    _exit(bad);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_int_equal(zyntax_runtime_block_on(rt, t), 0); /* the parent's is fine */
  zyntax_task_drop(t);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(null_waker_vtable),
      cmocka_unit_test(reentrant_calls),
      cmocka_unit_test(second_thread_while_driving),
      cmocka_unit_test(out_of_range_poll_value),
      cmocka_unit_test(double_drop_of_a_live_task),
      cmocka_unit_test(task_of_another_runtime),
      cmocka_unit_test(leaf_future_of_another_runtime),
      cmocka_unit_test(spawn_during_destroy),
      cmocka_unit_test(fork_child_refuses_inherited_runtime),
  };
  return cmocka_run_group_tests_name("misuse", tests, NULL, NULL);
}
