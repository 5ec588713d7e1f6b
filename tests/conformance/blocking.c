/* Blocking work: runs on a pool thread, never on a thread that polls, and
 * its completion wakes the task. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"

typedef struct job {
  pthread_t ran_on;
  atomic_int ran;
  int value;
} job;

static void work(void *arg) {
  job *j = arg;
  j->ran_on = pthread_self();
  usleep(2000); /* really blocks: the loop must not be stuck meanwhile */
  j->value = 99;
  atomic_store(&j->ran, 1);
}

typedef struct caller {
  job job;
  pthread_t polled_on;
  await_slot slot;
  atomic_int polled;
} caller;

static int make_job(void *arg, zyntax_future **out) {
  return zyntax_blocking_future(zyntax_runtime_current(), work, arg, out);
}

static zyntax_poll caller_poll(void *state, const zyntax_waker *waker) {
  caller *c = state;
  c->polled_on = pthread_self();
  atomic_store(&c->polled, 1);
  return await_future(&c->slot, make_job, &c->job, waker);
}

/* A cancelled caller still owns the job future it was awaiting. */
static void caller_drop(void *state) { await_slot_drop(&((caller *)state)->slot); }

static const zyntax_future_vtable caller_vt = {caller_poll, caller_drop};

static void blocking_work_runs_off_the_poll_thread(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  caller c = {0};
  zyntax_task *t = zyntax_runtime_spawn(rt, &c, caller_poll);
  assert_int_equal(zyntax_runtime_block_on(rt, t), 0);
  assert_int_equal(c.slot.result, 0);
  assert_int_equal(atomic_load(&c.job.ran), 1);
  assert_int_equal(c.job.value, 99);
  assert_false(pthread_equal(c.job.ran_on, c.polled_on));
  assert_false(pthread_equal(c.job.ran_on, pthread_self()));
  zyntax_stats st = {.size = sizeof st};
  zyntax_runtime_stats(rt, &st);
  assert_int_equal(st.blocking_jobs, 1);
  zyntax_task_drop(t);
  end_runtime(rt);
}

static void many_blocking_jobs(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  caller c[16];
  zyntax_task *t[16];
  for (int i = 0; i < 16; i++) {
    c[i] = (caller){0};
    t[i] = zyntax_runtime_spawn(rt, &c[i], caller_poll);
  }
  assert_int_equal(zyntax_runtime_run(rt), 0);
  for (int i = 0; i < 16; i++) {
    assert_int_equal(c[i].job.value, 99);
    zyntax_task_drop(t[i]);
  }
  end_runtime(rt);
}

static void destroy_waits_for_a_running_job(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  caller c = {0};
  zyntax_task *t;
  zyntax_runtime_spawn_future(rt, &c, &caller_vt, &t);
  /* Poll once so the job is queued, then destroy while it may be running. */
  drive_until(rt, &c.polled, 1);
  end_runtime(rt);
  /* Destroy waited for the job (or skipped it if it had not started). */
  int ran = atomic_load(&c.job.ran);
  usleep(5000);
  assert_int_equal(atomic_load(&c.job.ran), ran);
  /* Cancelled by destroy - or, where worker threads run tasks without
   * anyone driving (tokio), completed before or while destroy began: with
   * the job done, or refused as the runtime closed. */
  int status = zyntax_task_status(t);
  assert_true(status == ZYNTAX_ECANCELED ||
              (status == 0 && (ran || c.slot.result == ZYNTAX_ECLOSED)));
  zyntax_task_drop(t);
}

/* blocking_threads bounds the jobs running at once on ev and tokio. uv
 * ignores it (runtime.h: libuv's pool is process-wide, sized by
 * UV_THREADPOOL_SIZE), so there only the jobs' completion is checked. The
 * bound is checked by counting, never by timing: with a bound of one, no
 * job can ever see another running. */
#define BOUND_JOBS 4
static atomic_int bound_running, bound_max, bound_done;

static void counted_work(void *arg) {
  (void)arg;
  int now = atomic_fetch_add(&bound_running, 1) + 1;
  int max = atomic_load(&bound_max);
  while (now > max && !atomic_compare_exchange_weak(&bound_max, &max, now)) {
  }
  usleep(5000); /* long enough for a second pool thread to start meanwhile */
  atomic_fetch_sub(&bound_running, 1);
  atomic_fetch_add(&bound_done, 1);
}

typedef struct bound_jobs {
  zyntax_future *f[BOUND_JOBS];
} bound_jobs;

static zyntax_poll bound_jobs_poll(void *state, const zyntax_waker *waker) {
  bound_jobs *b = state;
  int pending = 0, rc;
  for (int i = 0; i < BOUND_JOBS; i++)
    pending |= zyntax_future_poll(b->f[i], waker, &rc) == ZYNTAX_PENDING;
  return pending ? ZYNTAX_PENDING : ZYNTAX_READY;
}

static void blocking_threads_bounds_the_pool(void **state) {
  (void)state;
  zyntax_runtime_options o = ZYNTAX_RUNTIME_OPTIONS_INIT;
  o.blocking_threads = 1;
  zyntax_runtime *rt;
  assert_int_equal(zyntax_runtime_create_with(&o, &rt), 0);
  atomic_store(&bound_max, 0);
  atomic_store(&bound_done, 0);
  bound_jobs b;
  for (int i = 0; i < BOUND_JOBS; i++) {
    assert_int_equal(zyntax_blocking_future(rt, counted_work, NULL, &b.f[i]), 0);
  }
  assert_int_equal(zyntax_runtime_block_on_future(rt, &b, bound_jobs_poll), 0);
  for (int i = 0; i < BOUND_JOBS; i++) {
    assert_int_equal(zyntax_future_result(b.f[i]), 0);
    zyntax_future_drop(b.f[i]);
  }
  assert_int_equal(atomic_load(&bound_done), BOUND_JOBS);
  if (strcmp(zyntax_runtime_backend_name(rt), "uv") != 0)
    assert_int_equal(atomic_load(&bound_max), 1);
  end_runtime(rt);
}

TEST_GROUP(blocking_tests) = {
    cmocka_unit_test(blocking_work_runs_off_the_poll_thread),
    cmocka_unit_test(many_blocking_jobs),
    cmocka_unit_test(destroy_waits_for_a_running_job),
    cmocka_unit_test(blocking_threads_bounds_the_pool),
};
const size_t blocking_count = GROUP_SIZE(blocking_tests);
