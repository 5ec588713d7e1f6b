/* ZYNTAX_STATS and ZYNTAX_SLOW_POLL_US (label "stats"), on every backend
 * mode: the JSON line a destroyed runtime appends (counts of a workload
 * whose polls and wakes are known exactly), one line per runtime and none
 * for a runtime created while the variable was unset, whole lines from
 * two processes sharing a file, and the slow-poll report naming its poll
 * function (exported: this binary links with -rdynamic) and its backend.
 * The variables are read at runtime creation, so each case sets them with
 * setenv() before it creates its runtime. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zyntax/runtime.h>

#include "json_line.h"
#include "support.h"

extern char **environ;

/* ---- files, the environment, stderr ---- */

/* A new empty file; its name in path[64]. */
static void temp_file(char *path) {
  snprintf(path, 64, "/tmp/zyntax-stats-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
}

/* The whole file, NUL-terminated (free it). */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  assert_non_null(buf);
  size_t n;
  while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += n;
    if (cap - len < 2) {
      cap *= 2;
      buf = realloc(buf, cap);
      assert_non_null(buf);
    }
  }
  fclose(f);
  buf[len] = '\0';
  return buf;
}

static void set_vars(const char *stats, const char *slow_us) {
  if (stats)
    setenv("ZYNTAX_STATS", stats, 1);
  else
    unsetenv("ZYNTAX_STATS");
  if (slow_us)
    setenv("ZYNTAX_SLOW_POLL_US", slow_us, 1);
  else
    unsetenv("ZYNTAX_SLOW_POLL_US");
}

/* stderr into a file for a while, to read what the library wrote. */
typedef struct capture {
  char path[64];
  int saved;
} capture;

static void capture_begin(capture *c) {
  temp_file(c->path);
  fflush(stderr);
  c->saved = dup(STDERR_FILENO);
  int fd = open(c->path, O_WRONLY | O_APPEND);
  assert_true(c->saved >= 0 && fd >= 0);
  assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
  close(fd);
}

/* Restores stderr; returns what was written (free it). */
static char *capture_end(capture *c) {
  fflush(stderr);
  dup2(c->saved, STDERR_FILENO);
  close(c->saved);
  char *text = slurp(c->path);
  unlink(c->path);
  return text;
}

/* ---- reading stats lines ---- */

/* Parses every line of `text` into lines[max]; each must be a valid stats
 * line. Returns how many. */
static size_t parse_all(const char *text, json_line *lines, size_t max) {
  size_t n = 0;
  while (*text != '\0') {
    assert_true(n < max);
    size_t used = json_line_parse(text, &lines[n]);
    if (used == 0) fail_msg("not one whole stats line: '%.200s'", text);
    text += used;
    n++;
  }
  return n;
}

static uint64_t num(const json_line *l, const char *key) {
  const json_field *f = json_line_get(l, key);
  if (f == NULL || f->kind != 'n') fail_msg("no number '%s' in the stats line", key);
  return f->number;
}

static const char *str(const json_line *l, const char *key) {
  const json_field *f = json_line_get(l, key);
  if (f == NULL || f->kind != 's') fail_msg("no string '%s' in the stats line", key);
  return f->text;
}

/* Every key the documentation lists, and the histogram's polls. */
static void check_shape(const json_line *l, const char *backend) {
  static const char *const keys[] = {
      "pid", "spawned", "completed", "cancelled", "failed", "polls", "wakes_local",
      "wakes_remote", "timers", "fd_waits", "blocking_jobs", "peak_live_tasks",
      "slow_polls", "slow_poll_us", "sim_seed"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) (void)num(l, keys[i]);
  assert_string_equal(str(l, "backend"), backend);
  /* The simulation's trace hash: 16 hex digits, all 0 but on sim, where
   * the runs here polled, so it has moved off 0 (docs/simulation.md). */
  const char *trace = str(l, "sim_trace");
  assert_int_equal(strlen(trace), 16);
  assert_int_equal(strspn(trace, "0123456789abcdef"), 16);
  if (strcmp(backend, "sim") == 0)
    assert_string_not_equal(trace, "0000000000000000");
  else
    assert_string_equal(trace, "0000000000000000");
  assert_true(str(l, "version")[0] != '\0');
  const json_field *h = json_line_get(l, "poll_ns_log2");
  assert_non_null(h);
  assert_int_equal(h->kind, 'a');
  assert_int_equal(h->nitems, ZYNTAX_STATS_POLL_BUCKETS);
  uint64_t timed = 0;
  for (size_t k = 0; k < h->nitems; k++) timed += h->items[k];
  assert_int_equal(timed, num(l, "polls")); /* every poll timed, once */
}

/* ---- a workload whose counts are known exactly ----
 * T tasks. Poll 1 keeps a waker clone and parks; once all T parked, a
 * thread outside the runtime wakes every clone (T remote wakes). Poll 2
 * ends an even task; an odd one yields (a local wake) and ends at poll 3.
 * So: T spawned and completed, 2T + T/2 polls, T remote and T/2 local
 * wakes, and all T unfinished at once (peak T). */
#define T 8

typedef struct parked {
  int index;
  int polls; /* one poll at a time per task: no atomics needed */
} parked;

static zyntax_waker slots[T];
static atomic_int parked_count;

static zyntax_poll park_poll(void *state, const zyntax_waker *waker) {
  parked *p = state;
  switch (++p->polls) {
  case 1:
    slots[p->index] = zyntax_waker_clone(waker);
    atomic_fetch_add_explicit(&parked_count, 1, memory_order_release);
    return ZYNTAX_PENDING;
  case 2:
    if (p->index % 2 == 0) return ZYNTAX_READY;
    zyntax_waker_wake_by_ref(waker);
    return ZYNTAX_PENDING;
  default:
    return ZYNTAX_READY;
  }
}

static void *waker_thread(void *arg) {
  (void)arg;
  const struct timespec ms = {0, 1000000};
  while (atomic_load_explicit(&parked_count, memory_order_acquire) < T)
    nanosleep(&ms, NULL);
  for (int i = 0; i < T; i++) zyntax_waker_wake(&slots[i]);
  return NULL;
}

static void spawn_detached(zyntax_runtime *rt, void *state, zyntax_poll_fn poll) {
  zyntax_task *task = zyntax_runtime_spawn(rt, state, poll);
  assert_non_null(task);
  zyntax_task_drop(task);
}

static void run_workload(zyntax_runtime *rt) {
  static parked tasks[T];
  atomic_store(&parked_count, 0);
  for (int i = 0; i < T; i++) {
    tasks[i] = (parked){.index = i};
    spawn_detached(rt, &tasks[i], park_poll);
  }
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, waker_thread, NULL), 0);
  assert_int_equal(zyntax_runtime_run(rt), 0);
  pthread_join(th, NULL);
}

static void check_workload(uint64_t spawned, uint64_t completed, uint64_t polls,
                           uint64_t local, uint64_t remote, uint64_t peak) {
  assert_int_equal(spawned, T);
  assert_int_equal(completed, T);
  assert_int_equal(polls, 2 * T + T / 2);
  assert_int_equal(local, T / 2);
  assert_int_equal(remote, T);
  assert_int_equal(peak, T);
}

/* ---- cases ---- */

/* The line of one runtime: exactly one, with the workload's counts. */
static void line_counts_a_known_workload(void **state) {
  (void)state;
  char path[64];
  temp_file(path);
  set_vars(path, NULL);
  zyntax_runtime *rt = test_runtime();
  char backend[64];
  snprintf(backend, sizeof backend, "%s", zyntax_runtime_backend_name(rt));
  run_workload(rt);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
  set_vars(NULL, NULL);

  char *text = slurp(path);
  json_line lines[2];
  assert_int_equal(parse_all(text, lines, 2), 1);
  json_line *l = &lines[0];
  check_shape(l, backend);
  assert_int_equal(num(l, "pid"), (uint64_t)getpid());
  check_workload(num(l, "spawned"), num(l, "completed"), num(l, "polls"),
                 num(l, "wakes_local"), num(l, "wakes_remote"), num(l, "peak_live_tasks"));
  assert_int_equal(num(l, "slow_polls"), 0);
  assert_int_equal(num(l, "slow_poll_us"), 0);
  assert_int_equal(num(l, "failed") + num(l, "cancelled"), 0);
  free(text);
  unlink(path);
}

/* Unset at creation: no clock read (an empty histogram) and no line, even
 * when the variable is set by the time the runtime is destroyed; the
 * counters that need no clock are there all the same. */
static void unset_at_create_means_off(void **state) {
  (void)state;
  char path[64];
  temp_file(path);
  set_vars(NULL, NULL);
  zyntax_runtime *rt = test_runtime();
  run_workload(rt);
  zyntax_stats s = {.size = sizeof s};
  assert_int_equal(zyntax_runtime_stats(rt, &s), 0);
  check_workload(s.tasks_spawned, s.tasks_completed, s.polls, s.wakes - s.wakes_remote,
                 s.wakes_remote, s.peak_live_tasks);
  for (int k = 0; k < ZYNTAX_STATS_POLL_BUCKETS; k++) assert_int_equal(s.poll_ns_log2[k], 0);
  assert_int_equal(s.slow_polls, 0);
  set_vars(path, NULL);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
  set_vars(NULL, NULL);
  char *text = slurp(path);
  assert_string_equal(text, "");
  free(text);
  unlink(path);
}

static zyntax_poll ready_poll(void *state, const zyntax_waker *waker) {
  (void)state, (void)waker;
  return ZYNTAX_READY;
}

/* Two runtimes alive at once, one line each; "-" writes to stderr. */
static void one_line_per_runtime(void **state) {
  (void)state;
  char path[64];
  temp_file(path);
  set_vars(path, NULL);
  zyntax_runtime *a = test_runtime(), *b = test_runtime();
  set_vars("-", NULL);
  zyntax_runtime *c = test_runtime();
  set_vars(NULL, NULL);
  spawn_detached(a, NULL, ready_poll);
  assert_int_equal(zyntax_runtime_run(a), 0);
  capture cap;
  capture_begin(&cap);
  assert_int_equal(zyntax_runtime_destroy(c), 0);
  char *err = capture_end(&cap);
  assert_int_equal(zyntax_runtime_destroy(b), 0);
  assert_int_equal(zyntax_runtime_destroy(a), 0);

  json_line lines[3];
  assert_int_equal(parse_all(err, lines, 3), 1); /* c's, on stderr alone */
  assert_int_equal(num(&lines[0], "spawned"), 0);
  free(err);
  char *text = slurp(path);
  assert_int_equal(parse_all(text, lines, 3), 2); /* b's, then a's */
  assert_int_equal(num(&lines[0], "spawned"), 0);
  assert_int_equal(num(&lines[1], "spawned"), 1);
  assert_int_equal(num(&lines[1], "polls"), 1);
  free(text);
  unlink(path);
}

/* ---- two processes, one file ---- */

#define CHILD_RUNTIMES 20

/* The child: CHILD_RUNTIMES runtimes, each with one task, each appending
 * its line to `path` (this process's environment says which backend). */
static int child_main(const char *path) {
  setenv("ZYNTAX_STATS", path, 1);
  for (int i = 0; i < CHILD_RUNTIMES; i++) {
    zyntax_runtime *rt = zyntax_runtime_create();
    if (rt == NULL) return 2;
    zyntax_task *t = zyntax_runtime_spawn(rt, NULL, ready_poll);
    if (t == NULL || zyntax_runtime_block_on(rt, t) != 0) return 3;
    zyntax_task_drop(t);
    if (zyntax_runtime_destroy(rt) != 0) return 4;
  }
  return 0;
}

static pid_t start_child(const char *path) {
  char *argv[] = {"zyntax-stats", "--append", (char *)path, NULL};
  pid_t pid;
  assert_int_equal(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ), 0);
  return pid;
}

static void two_processes_append_whole_lines(void **state) {
  (void)state;
  char path[64];
  temp_file(path);
  pid_t kids[2] = {start_child(path), start_child(path)};
  for (int i = 0; i < 2; i++) {
    int status;
    assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
  }
  char *text = slurp(path);
  static json_line lines[2 * CHILD_RUNTIMES + 1];
  assert_int_equal(parse_all(text, lines, 2 * CHILD_RUNTIMES + 1), 2 * CHILD_RUNTIMES);
  int per_child[2] = {0, 0};
  for (int i = 0; i < 2 * CHILD_RUNTIMES; i++) {
    uint64_t pid = num(&lines[i], "pid");
    assert_true(pid == (uint64_t)kids[0] || pid == (uint64_t)kids[1]);
    per_child[pid == (uint64_t)kids[1]]++;
    assert_int_equal(num(&lines[i], "spawned"), 1);
    assert_int_equal(num(&lines[i], "completed"), 1);
  }
  assert_int_equal(per_child[0], CHILD_RUNTIMES);
  assert_int_equal(per_child[1], CHILD_RUNTIMES);
  free(text);
  unlink(path);
}

/* ---- the slow-poll detector ---- */

/* Exported (and the binary linked with -rdynamic) so that dladdr names it
 * in the report. 20 ms against a 5 ms limit: slow however fast the
 * machine is. */
__attribute__((visibility("default"))) zyntax_poll zyntax_test_slow_poll(void *state,
                                                                         const zyntax_waker *w);

zyntax_poll zyntax_test_slow_poll(void *state, const zyntax_waker *waker) {
  (void)state, (void)waker;
  usleep(20000);
  return ZYNTAX_READY;
}

static size_t count_lines_with(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
  return n;
}

/* A spawned task (a Tokio worker's poll, on multi-thread Tokio) and
 * block_on_future's own future (the calling thread): both reported,
 * with the symbol, the task and the backend; both counted. */
static void slow_poll_is_reported(void **state) {
  (void)state;
  char path[64];
  temp_file(path);
  set_vars(path, "5000");
  capture cap;
  capture_begin(&cap);
  zyntax_runtime *rt = test_runtime();
  char backend[80];
  snprintf(backend, sizeof backend, "backend '%s'", zyntax_runtime_backend_name(rt));
  spawn_detached(rt, NULL, zyntax_test_slow_poll);
  assert_int_equal(zyntax_runtime_run(rt), 0);
  assert_int_equal(zyntax_runtime_block_on_future(rt, NULL, zyntax_test_slow_poll), 0);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
  char *err = capture_end(&cap);
  set_vars(NULL, NULL);

  print_message("%s", err);
  assert_true(count_lines_with(err, "zyntax: slow poll: ") >= 1);
  assert_non_null(strstr(err, "in poll function zyntax_test_slow_poll ("));
  assert_non_null(strstr(err, backend));
  assert_non_null(strstr(err, "(limit 5000 us)"));
  assert_non_null(strstr(err, ", task 0x"));
  char *text = slurp(path);
  json_line lines[2];
  assert_int_equal(parse_all(text, lines, 2), 1);
  assert_int_equal(num(&lines[0], "slow_polls"), 2);
  assert_int_equal(num(&lines[0], "slow_poll_us"), 5000);
  free(text);
  free(err);
  unlink(path);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 2 ms against a 1 ms limit. */
static zyntax_poll slow_2ms(void *state, const zyntax_waker *waker) {
  (void)state, (void)waker;
  usleep(2000);
  return ZYNTAX_READY;
}

/* The slow-poll lines in `text` (each must be a whole line) and the polls
 * they say were not shown ("; N more not shown (rate limit 5 lines/s)"). */
static void count_slow_lines(const char *text, size_t *lines, uint64_t *not_shown) {
  static const char head[] = "zyntax: slow poll: ";
  *lines = 0, *not_shown = 0;
  for (const char *p = text; *p != '\0';) {
    const char *end = strchr(p, '\n');
    if (end == NULL) fail_msg("not a whole line on stderr: '%.200s'", p);
    if (strncmp(p, head, sizeof head - 1) == 0) {
      ++*lines;
      const char *more = strstr(p, "; ");
      if (more != NULL && more < end) {
        unsigned long long n = 0;
        int used = 0;
        (void)sscanf(more, "; %llu more not shown (rate limit 5 lines/s)%n", &n, &used);
        if (used == 0 || more + used != end) fail_msg("bad line end: '%.*s'", (int)(end - p), p);
        *not_shown += n;
      }
    }
    p = end + 1;
  }
}

/* One slow poll of block_on_future, its stderr captured: the slow-poll
 * lines it wrote (must be 1) and the earlier polls that line says were
 * not shown. Called after a pause longer than 1/5 s, when the bucket has a
 * token again whatever came before. */
static uint64_t one_slow_line(zyntax_runtime *rt) {
  capture cap;
  capture_begin(&cap);
  assert_int_equal(zyntax_runtime_block_on_future(rt, NULL, slow_2ms), 0);
  char *err = capture_end(&cap);
  size_t lines;
  uint64_t not_shown;
  count_slow_lines(err, &lines, &not_shown);
  free(err);
  assert_int_equal(lines, 1);
  return not_shown;
}

/* A burst of slow polls prints at most 5 lines plus 5 a second and counts
 * every one; each poll not shown is named in the next line written. That
 * is checked as an account, not by timing: however the burst's polls were
 * spread out (a loaded machine stretches them, and the bucket refills
 * meanwhile), the lines written plus the polls they and the line after a
 * pause say were not shown are exactly the burst, and a line after one
 * more pause names none. */
static void slow_polls_are_rate_limited(void **state) {
  (void)state;
  enum { BURST = 20 };
  const struct timespec pause = {0, 250000000}; /* > 1/5 s: a token back */
  set_vars(NULL, "1000");
  zyntax_runtime *rt = test_runtime();
  /* A line first, so that nothing held back earlier in this process is
   * left for the burst's lines to name. */
  nanosleep(&pause, NULL);
  (void)one_slow_line(rt);

  capture cap;
  capture_begin(&cap);
  double start = now_s();
  for (int i = 0; i < BURST; i++) spawn_detached(rt, NULL, slow_2ms);
  assert_int_equal(zyntax_runtime_run(rt), 0);
  double elapsed = now_s() - start;
  char *err = capture_end(&cap);
  zyntax_stats s = {.size = sizeof s};
  assert_int_equal(zyntax_runtime_stats(rt, &s), 0);
  assert_int_equal(s.slow_polls, 1 + BURST); /* counted, printed or not */
  size_t shown;
  uint64_t not_shown;
  count_slow_lines(err, &shown, &not_shown);
  free(err);
  assert_true((double)shown <= 5.0 + 5.0 * elapsed + 1.0);

  nanosleep(&pause, NULL);
  not_shown += one_slow_line(rt);
  print_message("burst of %d: %zu shown, %llu not (%.3f s)\n", BURST, shown,
                (unsigned long long)not_shown, elapsed);
  assert_int_equal(shown + not_shown, BURST);
  nanosleep(&pause, NULL); /* and each was named once: none is left */
  assert_int_equal(one_slow_line(rt), 0);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
  set_vars(NULL, NULL);
}

/* A value that is not a number of microseconds fails creation. */
static void bad_slow_poll_value_is_refused(void **state) {
  (void)state;
  static const char *const bad[] = {"5ms", "0", "-1", " 5", "99999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    set_vars(NULL, bad[i]);
    zyntax_runtime *rt;
    assert_int_equal(zyntax_runtime_create_with(NULL, &rt), ZYNTAX_EINVAL);
    assert_null(rt);
    assert_non_null(strstr(zyntax_last_error()->message, "ZYNTAX_SLOW_POLL_US"));
  }
  set_vars(NULL, NULL);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--append") == 0) return child_main(argv[2]);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(line_counts_a_known_workload),
      cmocka_unit_test(unset_at_create_means_off),
      cmocka_unit_test(one_line_per_runtime),
      cmocka_unit_test(two_processes_append_whole_lines),
      cmocka_unit_test(slow_poll_is_reported),
      cmocka_unit_test(slow_polls_are_rate_limited),
      cmocka_unit_test(bad_slow_poll_value_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
