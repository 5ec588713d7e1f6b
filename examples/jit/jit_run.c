#include "jit_run.h"
#include "loop_ref.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../http_server.h"

/* Spawns `state` (owned by the caller; vt->drop releases what it holds) and
 * drives the runtime until it finished. Returns the outcome; *task is still
 * held: read the state, then drop it (which runs the drop function). */
static int spawn_and_wait(zyntax_runtime *rt, void *state, const zyntax_future_vtable *vt,
                          zyntax_task **task) {
  int rc = zyntax_runtime_spawn_future(rt, state, vt, task);
  return rc != 0 ? rc : zyntax_runtime_block_on(rt, *task);
}

static int verdict(int ok, const char *what) {
  printf("%s %s\n", ok ? "ok" : "FAIL", what);
  return !ok;
}

int zjit_run_fetch(zyntax_runtime *rt, const zjit_program *p) {
  static const char expected[] = "hello from zyntax (jit)";
  http_server *server = http_server_start(rt, expected);
  if (server == NULL) return verdict(0, "fetch_data: cannot start the server");
  zjit_fetch_state *s = calloc(1, sizeof *s);
  if (s == NULL) return verdict(0, "fetch_data: out of memory");
  s->url = http_server_url(server);
  zyntax_task *task;
  int rc = spawn_and_wait(rt, s, &p->fetch, &task);
  int ok = rc == 0 && s->error == 0 && s->body != NULL && strcmp(s->body, expected) == 0;
  printf("fetch_data(%s) = \"%s\" (outcome %d, error %d)\n", s->url,
         s->body != NULL ? s->body : "", rc, (int)s->error);
  zyntax_task_drop(task); /* the generated drop frees the body */
  int run = zyntax_runtime_run(rt); /* lets the server task finish */
  free(s);
  http_server_free(server);
  return verdict(ok && run == 0, "fetch_data: body over loopback HTTP");
}

int zjit_run_loop(zyntax_runtime *rt, const zjit_program *p) {
  zjit_loop_state s = {.n = 20, .delay_ns = 1000000};
  zyntax_stats before = {.size = sizeof before}, after = {.size = sizeof after};
  zyntax_runtime_stats(rt, &before);
  zyntax_task *task;
  int rc = spawn_and_wait(rt, &s, &p->loop, &task);
  zyntax_runtime_stats(rt, &after);
  zyntax_task_drop(task);
  uint64_t polls = after.polls - before.polls, timers = after.timers - before.timers;
  printf("loop: acc = %" PRId64 " (expected %" PRId64 "), %" PRIu64 " polls, %" PRIu64
         " timers\n", s.acc, s.n * (s.n - 1) / 2, polls, timers);
  /* Each iteration re-enters the await state: one timer per iteration and
   * at least one poll per iteration plus the first. */
  int ok = rc == 0 && s.acc == s.n * (s.n - 1) / 2 && s.i == s.n && s.sleep == NULL &&
           timers == (uint64_t)s.n && polls >= (uint64_t)s.n + 1;
  return verdict(ok, "loop: for i in 0..20 { sleep(1ms).await; acc += i }");
}

int zjit_run_spawn(zyntax_runtime *rt, const zjit_program *p) {
  zjit_join_state s = {.n = 6};
  int64_t expected = 0;
  for (int64_t k = 0; k < s.n; k++) expected += k * k + 1;
  zyntax_stats before = {.size = sizeof before}, after = {.size = sizeof after};
  zyntax_runtime_stats(rt, &before);
  zyntax_task *task;
  int rc = spawn_and_wait(rt, &s, &p->join, &task);
  zyntax_runtime_stats(rt, &after);
  zyntax_task_drop(task);
  uint64_t spawned = after.tasks_spawned - before.tasks_spawned;
  printf("spawn/join: sum = %" PRId64 " (expected %" PRId64 "), error %d, %" PRIu64
         " tasks spawned\n", s.acc, expected, (int)s.error, spawned);
  int ok = rc == 0 && s.error == 0 && s.acc == expected && spawned == (uint64_t)s.n + 1;
  return verdict(ok, "spawn/join: 6 generated children joined as futures");
}

static void closure_init(zjit_closure_state *s, const char *name, int64_t x, uint64_t delay,
                         int64_t *drops) {
  *s = (zjit_closure_state){.x = x, .name = strdup(name), .drops = drops, .delay_ns = delay};
}

/* One instance runs to completion; another, parked in a 60 s sleep, is
 * cancelled. Each must drop its captured environment exactly once. */
int zjit_run_closure(zyntax_runtime *rt, const zjit_program *p) {
  int64_t drops_done = 0, drops_cancelled = 0;
  zjit_closure_state *done = malloc(sizeof *done), *parked = malloc(sizeof *parked);
  if (done == NULL || parked == NULL) return verdict(0, "closure: out of memory");
  closure_init(parked, "captured", 1, 60000000000ull, &drops_cancelled);
  closure_init(done, "captured", 42, 1000000, &drops_done);
  zyntax_task *parked_task;
  zyntax_runtime_spawn_future(rt, parked, &p->closure, &parked_task);
  zyntax_task *task;
  /* Driving the second instance (1 ms) polls the first one too: its first
   * poll is queued ahead, so it is parked in its sleep when cancelled. */
  int rc = spawn_and_wait(rt, done, &p->closure, &task);
  int64_t result = done->result;
  zyntax_task_drop(task);
  int cancel = parked_task != NULL ? zyntax_task_cancel(parked_task) : -1;
  int outcome = parked_task != NULL ? zyntax_runtime_block_on(rt, parked_task) : -1;
  if (parked_task != NULL) zyntax_task_drop(parked_task);
  printf("closure: result = %" PRId64 " (expected %zu), drops %" PRId64
         " on completion, %" PRId64 " on cancel (outcome %d)\n",
         result, strlen("captured") + 42, drops_done, drops_cancelled, outcome);
  int ok = rc == 0 && result == (int64_t)strlen("captured") + 42 && drops_done == 1 &&
           cancel == 0 && outcome == ZYNTAX_ECANCELED && drops_cancelled == 1;
  free(done); /* the generated drop released the captures, not the state */
  free(parked);
  return verdict(ok, "closure: captures dropped exactly once on completion and on cancel");
}

/* One timed run of the yielding loop; ns per poll (0 on failure). */
static double time_loop(zyntax_runtime *rt, const zyntax_future_vtable *vt, int64_t n) {
  zjit_loop_state s = {.n = n};
  zyntax_stats before = {.size = sizeof before}, after = {.size = sizeof after};
  zyntax_runtime_stats(rt, &before);
  uint64_t t0 = zyntax_now();
  zyntax_task *task;
  int rc = spawn_and_wait(rt, &s, vt, &task);
  uint64_t t1 = zyntax_now();
  zyntax_runtime_stats(rt, &after);
  zyntax_task_drop(task);
  if (rc != 0 || s.acc != n * (n - 1) / 2) return 0;
  return (double)(t1 - t0) / (double)(after.polls - before.polls);
}

/* The poll function alone: called in a loop with the no-op waker, no
 * scheduler in between (each call runs one iteration and returns PENDING). */
static double time_direct(zyntax_poll_fn poll, int64_t n) {
  zjit_loop_state s = {.n = n};
  zyntax_waker noop = zyntax_waker_noop();
  uint64_t polls = 0, t0 = zyntax_now();
  while (poll(&s, &noop) == ZYNTAX_PENDING) polls++;
  uint64_t t1 = zyntax_now();
  return s.acc == n * (n - 1) / 2 ? (double)(t1 - t0) / (double)(polls + 1) : 0;
}

static void keep_best(double *best, double v) {
  if (*best == 0 || v < *best) *best = v;
}

int zjit_bench_loop(zyntax_runtime *rt, const zjit_program *p, int rounds) {
  const zyntax_future_vtable hand = {zjit_loop_ref_poll, zjit_loop_ref_drop};
  const int64_t n = 100000;
  double best[4] = {0, 0, 0, 0}; /* hand/jit through the runtime, hand/jit direct */
  for (int r = 0; r < rounds; r++) { /* interleaved, so drift hits both */
    double t[4] = {time_loop(rt, &hand, n), time_loop(rt, &p->loop, n),
                   time_direct(hand.poll, 10 * n), time_direct(p->loop.poll, 10 * n)};
    for (int i = 0; i < 4; i++) {
      if (t[i] == 0) return verdict(0, "bench: a timed run failed");
      keep_best(&best[i], t[i]);
    }
  }
  const char *name = zyntax_runtime_backend_name(rt);
  printf("bench %s: %" PRId64 " yielding awaits, best of %d, through the runtime: "
         "hand-written C %.1f ns/poll, libgccjit-generated %.1f ns/poll\n",
         name, n, rounds, best[0], best[1]);
  printf("bench %s: poll function alone (no-op waker): hand-written C %.2f ns/poll, "
         "libgccjit-generated %.2f ns/poll\n", name, best[2], best[3]);
  return 0;
}
