/* fork() while another thread is inside the process's first
 * zyntax_runtime_create, loading the backend plugin: the child must never
 * inherit a half-loaded plugin. Each trial is a fresh process (the test's
 * own process never loads a plugin): a thread creates the first runtime
 * while the trial's main thread forks after a delay (from the moment
 * create is called) that sweeps across the load; the child creates its own runtime, runs a 1 ms sleep on it and
 * destroys it. A child that crashes, hangs (killed after 20 s) or fails
 * counts as failed; the test passes with 0 failed children.
 *
 * The delays only spread the forks over the load; how many forks land
 * inside it is printed, never asserted (that is the machine's speed). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zyntax/runtime.h>

#define TRIALS 200
#define SWEEP_NS 4000000ull /* delays spread over 0..4 ms after create starts */

static atomic_int phase; /* 0 before create, 1 inside it, 2 after */

typedef struct sleeper {
  zyntax_future *f;
  int result;
} sleeper;

static zyntax_poll sleep_1ms(void *state, const zyntax_waker *waker) {
  sleeper *s = state;
  if (s->f == NULL) {
    s->result = zyntax_sleep_future(zyntax_runtime_current(), 1000000, &s->f);
    if (s->result != 0) return ZYNTAX_READY;
  }
  return zyntax_future_poll(s->f, waker, &s->result);
}

/* 0 if `rt` works end to end (a 1 ms sleep); destroys it. */
static int use_runtime(zyntax_runtime *rt) {
  if (rt == NULL) {
    fprintf(stderr, "create: %s\n", zyntax_last_error()->message);
    return 1;
  }
  sleeper s = {NULL, -1};
  int rc = zyntax_runtime_block_on_future(rt, &s, sleep_1ms);
  zyntax_future_drop(s.f);
  rc |= zyntax_runtime_destroy(rt);
  return rc != 0 || s.result != 0;
}

static void *loader(void *arg) {
  (void)arg;
  atomic_store(&phase, 1);
  zyntax_runtime *rt = zyntax_runtime_create(); /* loads the plugin */
  atomic_store(&phase, 2);
  return (void *)(intptr_t)use_runtime(rt);
}

static void spin_ns(uint64_t ns) {
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  do {
    clock_gettime(CLOCK_MONOTONIC, &b);
  } while ((uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ull + (uint64_t)b.tv_nsec -
               (uint64_t)a.tv_nsec < ns);
}

/* Exit status of a trial: 0 ok; bit 0 the child failed; bit 1 the
 * loading thread failed; bit 2 the fork landed inside the first create. */
static int trial(uint64_t delay_ns) {
  pthread_t th;
  if (pthread_create(&th, NULL, loader, NULL) != 0) return 3;
  while (atomic_load(&phase) == 0) {
  }
  spin_ns(delay_ns);
  int during = atomic_load(&phase) == 1;
  pid_t pid = fork();
  if (pid == 0) {
    alarm(20); /* a hang becomes SIGALRM: a failed child */
    _exit(use_runtime(zyntax_runtime_create()));
  }
  int status = 0, out = during ? 4 : 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    out |= 1;
    if (pid > 0 && WIFSIGNALED(status))
      fprintf(stderr, "child killed by signal %d\n", WTERMSIG(status));
  }
  void *rc;
  pthread_join(th, &rc);
  if (rc != NULL) out |= 2;
  return out;
}

int main(void) {
  int failed_children = 0, failed_loaders = 0, inside = 0;
  const char *n = getenv("ZYNTAX_FORK_TRIALS"); /* default TRIALS */
  int trials = n && atoi(n) > 0 ? atoi(n) : TRIALS;
  for (int i = 0; i < trials; i++) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) _exit(trial(SWEEP_NS * (uint64_t)i / (uint64_t)trials));
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
      failed_children++;
      continue;
    }
    int out = WEXITSTATUS(status);
    failed_children += out & 1;
    failed_loaders += (out >> 1) & 1;
    inside += (out >> 2) & 1;
  }
  const char *backend = getenv("ZYNTAX_RUNTIME");
  printf("fork: %d forks against a loading thread (backend %s): %d landed inside the "
         "first create, %d failed children, %d failed loading threads\n",
         trials, backend ? backend : "default", inside, failed_children, failed_loaders);
  return failed_children != 0 || failed_loaders != 0;
}
