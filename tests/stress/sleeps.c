/* Short sleeps under load (label "stress"): the case that hung the libuv
 * backend. A timer that falls due while its task is still being polled
 * (a slow poll, a preempted thread, valgrind) wakes the task from inside
 * the next loop turn; the driver must poll it again rather than block.
 *
 * Threads spinning on every CPU preempt the driving thread at random
 * points, and some sleepers also spin past their own deadline before
 * returning PENDING, so the case happens on every cycle, not only when the
 * scheduler happens to cause it. Bounded in count (cycles x tasks x sleeps,
 * rounds of wakes); pass or fail does not depend on timing: every task
 * finishes every sleep, every state is dropped exactly once. A hang is the
 * failure (CTest's timeout; the [ RUN ] line names the case). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>
#include <zyntax/runtime.h>

#define CYCLES 50        /* runtimes created and destroyed */
#define TASKS 8          /* sleepers per cycle */
#define SLEEPS 8         /* sleeps per sleeper */
#define PENDING_AT_DESTROY 2
#define WAKERS 2         /* threads waking tasks remotely */
#define ROUNDS_DEFAULT 5000 /* remote wakes per waker */

/* ZYNTAX_STRESS_ROUNDS overrides the remote wakes per waker: under valgrind,
 * whose one big lock hands the CPU to a spinning hog for a whole time slice
 * at every hand-off, a round trip costs ~30 ms (5000 rounds: ~6 min). */
static int rounds(void) {
  static atomic_int n; /* read from the waker threads and the pollers */
  int r = atomic_load_explicit(&n, memory_order_relaxed);
  if (r == 0) {
    const char *v = getenv("ZYNTAX_STRESS_ROUNDS");
    r = v != NULL && atoi(v) > 0 ? atoi(v) : ROUNDS_DEFAULT;
    atomic_store_explicit(&n, r, memory_order_relaxed);
  }
  return r;
}

/* ---- CPU hogs: one spinning thread per CPU ---- */

static atomic_int hogs_stop;
static pthread_t hogs[16];
static int nhogs;

static void *hog(void *arg) {
  (void)arg;
  volatile unsigned long spins = 0;
  while (!atomic_load_explicit(&hogs_stop, memory_order_relaxed)) spins++;
  return NULL;
}

static int start_hogs(void **state) {
  (void)state;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  nhogs = cpus < 1 ? 1 : cpus > 16 ? 16 : (int)cpus;
  atomic_store(&hogs_stop, 0);
  for (int i = 0; i < nhogs; i++)
    if (pthread_create(&hogs[i], NULL, hog, NULL) != 0) return -1;
  return 0;
}

static int stop_hogs(void **state) {
  (void)state;
  atomic_store(&hogs_stop, 1);
  for (int i = 0; i < nhogs; i++) pthread_join(hogs[i], NULL);
  return 0;
}

static void spin_until(uint64_t t) {
  while (zyntax_now() < t) {
  }
}

/* ---- a task that sleeps SLEEPS times: sub-millisecond and 1 ms ---- */

static atomic_long drops;

typedef struct sleeper {
  int index;   /* picks durations and lateness */
  int target;  /* sleeps to complete */
  int done;    /* sleeps completed */
  int error;   /* a sleep that could not be made or failed */
  zyntax_future *sleep;
} sleeper;

static uint64_t duration_ns(const sleeper *s) {
  static const uint64_t ns[] = {1000, 250000, 1000000, 600000, 50000};
  return ns[(unsigned)(s->index + s->done) % (sizeof ns / sizeof ns[0])];
}

/* Every third sleep the poll keeps working until the sleep is due before
 * it returns PENDING: the wake then arrives during the next loop turn. */
static int late(const sleeper *s) { return (s->index + s->done) % 3 == 0; }

static zyntax_poll sleeper_poll(void *state, const zyntax_waker *waker) {
  sleeper *s = state;
  int rc;
  for (;;) {
    if (s->sleep == NULL) {
      if (s->done == s->target || s->error) return ZYNTAX_READY;
      uint64_t ns = duration_ns(s), due = zyntax_now() + ns;
      s->error = zyntax_sleep_future(zyntax_runtime_current(), ns, &s->sleep);
      if (s->error != 0) return ZYNTAX_READY;
      if (zyntax_future_poll(s->sleep, waker, &rc) == ZYNTAX_PENDING) {
        if (late(s)) spin_until(due);
        return ZYNTAX_PENDING;
      }
    } else if (zyntax_future_poll(s->sleep, waker, &rc) == ZYNTAX_PENDING) {
      return ZYNTAX_PENDING;
    }
    if (rc != 0) s->error = rc;
    zyntax_future_drop(s->sleep);
    s->sleep = NULL;
    s->done++;
  }
}

static void sleeper_drop(void *state) {
  sleeper *s = state;
  if (s->sleep != NULL) zyntax_future_drop(s->sleep); /* cancelled mid-sleep */
  s->sleep = NULL;
  atomic_fetch_add_explicit(&drops, 1, memory_order_relaxed);
}

static const zyntax_future_vtable sleeper_vt = {sleeper_poll, sleeper_drop};

static zyntax_runtime *new_runtime(void) {
  zyntax_runtime *rt = zyntax_runtime_create();
  if (rt == NULL) fail_msg("no runtime: %s", zyntax_last_error()->message);
  return rt;
}

/* One cycle on a fresh runtime: a lone sleeper driven by block_on_future
 * first (its timer is the only one in the loop, so nothing else would wake
 * a driver that blocked), then TASKS sleepers spawned and joined while
 * PENDING_AT_DESTROY more are still sleeping when the runtime is
 * destroyed. */
static void sleep_cycle(int cycle) {
  zyntax_runtime *rt = new_runtime();
  sleeper lone = {.index = cycle, .target = SLEEPS};
  assert_int_equal(zyntax_runtime_block_on_future(rt, &lone, sleeper_poll), 0);
  assert_int_equal(lone.error, 0);
  assert_int_equal(lone.done, SLEEPS);

  sleeper s[TASKS + PENDING_AT_DESTROY];
  zyntax_task *t[TASKS + PENDING_AT_DESTROY];
  atomic_store(&drops, 0);
  for (int i = 0; i < TASKS + PENDING_AT_DESTROY; i++) {
    s[i] = (sleeper){.index = cycle + i, .target = i < TASKS ? SLEEPS : 1000};
    zyntax_runtime_spawn_future(rt, &s[i], &sleeper_vt, &t[i]);
    if (t[i] == NULL) fail_msg("spawn: %s", zyntax_last_error()->message);
  }
  for (int i = 0; i < TASKS; i++) {
    assert_int_equal(zyntax_runtime_block_on(rt, t[i]), 0);
    assert_int_equal(s[i].error, 0);
    assert_int_equal(s[i].done, SLEEPS);
  }
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
  for (int i = 0; i < TASKS + PENDING_AT_DESTROY; i++) {
    int status = zyntax_task_status(t[i]);
    if (i < TASKS)
      assert_int_equal(status, 0);
    else if (status != ZYNTAX_ECANCELED) {
      /* A Tokio worker may poll a sleeper while destroy is under way: its
       * next sleep is refused with ECLOSED and it finishes on its own. */
      assert_int_equal(status, 0);
      assert_int_equal(s[i].error, ZYNTAX_ECLOSED);
    }
    assert_null(s[i].sleep);
    zyntax_task_drop(t[i]);
  }
  /* Completed tasks' states go when their handles are dropped. */
  assert_int_equal(atomic_load(&drops), TASKS + PENDING_AT_DESTROY);
}

static void short_sleeps_beside_cpu_hogs(void **state) {
  (void)state;
  uint64_t start = zyntax_now();
  for (int cycle = 0; cycle < CYCLES; cycle++) sleep_cycle(cycle);
  print_message("%d runtimes, %d sleeps completed beside %d spinning threads (%.1f s)\n",
                CYCLES, CYCLES * (TASKS + 1) * SLEEPS, nhogs,
                (double)(zyntax_now() - start) / 1e9);
}

/* ---- wakes from other threads while the driver sleeps or runs timers ----
 * Each waker thread and its task play ping-pong: the task publishes a
 * waker and returns PENDING (with a short sleep armed, so timers fire in
 * the same loop turns); the thread takes it and wakes it. A wake lost
 * between the inbox and the loop's signal leaves the driver blocked. */

typedef struct pong {
  pthread_mutex_t lock;
  pthread_cond_t changed;  /* a waker published or a token taken */
  zyntax_waker published; /* ZYNTAX_WAKER_EMPTY when none */
  int has_waker;
  atomic_int token;       /* set by the thread before it wakes */
  int rounds;             /* tokens seen by the task */
  zyntax_future *sleep;
} pong;

static zyntax_poll pong_poll(void *state, const zyntax_waker *waker) {
  pong *p = state;
  int rc; /* a sleep only paces the task: its result is not needed */
  if (atomic_exchange(&p->token, 0)) p->rounds++;
  if (p->sleep != NULL && zyntax_future_poll(p->sleep, waker, &rc) == ZYNTAX_READY) {
    zyntax_future_drop(p->sleep);
    p->sleep = NULL;
  }
  if (p->rounds == rounds()) {
    if (p->sleep != NULL) zyntax_future_drop(p->sleep);
    p->sleep = NULL;
    return ZYNTAX_READY;
  }
  if (p->sleep == NULL && p->rounds % 2 == 0) {
    zyntax_sleep_future(zyntax_runtime_current(), 200000, &p->sleep);
    if (p->sleep != NULL && zyntax_future_poll(p->sleep, waker, &rc) == ZYNTAX_READY) {
      zyntax_future_drop(p->sleep);
      p->sleep = NULL;
    }
  }
  pthread_mutex_lock(&p->lock);
  if (!p->has_waker) {
    p->published = zyntax_waker_clone(waker);
    p->has_waker = 1;
  }
  /* Also when a waker was already published: the token just taken may be
   * what the thread waits for. */
  pthread_cond_signal(&p->changed);
  pthread_mutex_unlock(&p->lock);
  return ZYNTAX_PENDING;
}

static void pong_drop(void *state) {
  pong *p = state;
  if (p->sleep != NULL) zyntax_future_drop(p->sleep);
  p->sleep = NULL;
  atomic_fetch_add_explicit(&drops, 1, memory_order_relaxed);
}

static const zyntax_future_vtable pong_vt = {pong_poll, pong_drop};

/* Waits for the task's published waker (and for the last token to be
 * taken), then wakes the task from this thread. */
static void *pong_thread(void *arg) {
  pong *p = arg;
  for (int sent = 0; sent < rounds(); sent++) {
    pthread_mutex_lock(&p->lock);
    while (!p->has_waker || atomic_load(&p->token)) pthread_cond_wait(&p->changed, &p->lock);
    zyntax_waker w = p->published;
    p->has_waker = 0;
    pthread_mutex_unlock(&p->lock);
    atomic_store(&p->token, 1);
    zyntax_waker_wake(&w); /* consumes the clone */
  }
  return NULL;
}

static void remote_wakes_beside_cpu_hogs(void **state) {
  (void)state;
  uint64_t start = zyntax_now();
  zyntax_runtime *rt = new_runtime();
  pong p[WAKERS];
  zyntax_task *t[WAKERS];
  pthread_t threads[WAKERS];
  atomic_store(&drops, 0);
  for (int i = 0; i < WAKERS; i++) {
    p[i] = (pong){.published = ZYNTAX_WAKER_EMPTY};
    pthread_mutex_init(&p[i].lock, NULL);
    pthread_cond_init(&p[i].changed, NULL);
    zyntax_runtime_spawn_future(rt, &p[i], &pong_vt, &t[i]);
    if (t[i] == NULL) fail_msg("spawn: %s", zyntax_last_error()->message);
    assert_int_equal(pthread_create(&threads[i], NULL, pong_thread, &p[i]), 0);
  }
  for (int i = 0; i < WAKERS; i++) assert_int_equal(zyntax_runtime_block_on(rt, t[i]), 0);
  for (int i = 0; i < WAKERS; i++) {
    pthread_join(threads[i], NULL);
    assert_int_equal(p[i].rounds, rounds());
    if (p[i].has_waker) zyntax_waker_drop(&p[i].published);
    zyntax_task_drop(t[i]);
    pthread_mutex_destroy(&p[i].lock);
    pthread_cond_destroy(&p[i].changed);
  }
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
  assert_int_equal(atomic_load(&drops), WAKERS);
  print_message("%d remote wakes by %d threads beside %d spinning threads (%.1f s)\n",
                WAKERS * rounds(), WAKERS, nhogs, (double)(zyntax_now() - start) / 1e9);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(short_sleeps_beside_cpu_hogs),
      cmocka_unit_test(remote_wakes_beside_cpu_hogs),
  };
  return cmocka_run_group_tests_name("stress-sleep", tests, start_hogs, stop_hogs);
}
