/* zyntax-sim-check [--seeds A..B] [--runs N] [--timeout S] [--stop] -- PROGRAM ARGS
 *
 * Runs PROGRAM under the simulation backend (ZYNTAX_RUNTIME=sim) once per
 * seed and run, each run with ZYNTAX_SIM_SEED set and its trace lines
 * written to a file of its own (ZYNTAX_SIM_TRACE=path: one line per sim
 * runtime the program destroyed). For every seed it reports:
 *   FAIL seed=S       the program exited non-zero (or was killed) - the
 *                     same way in every run: ZYNTAX_SIM_SEED=S replays it;
 *   DIVERGED seed=S   two runs of one seed differ (trace hash or exit):
 *                     non-determinism the simulation does not control
 *                     (real time, rand(), threads of the program's own,
 *                     real I/O timing) - madsim's run-twice check.
 * Exit status: 0 every seed passed and agreed, 1 a FAIL or DIVERGED, 2 a
 * usage error. Other ZYNTAX_SIM_* variables (faults) pass through. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 16
#define TRACE_MAX 4096

typedef struct options {
  uint64_t first, last;
  int runs;
  unsigned timeout_s;
  int stop; /* at the first FAIL or DIVERGED */
  char **argv;
} options;

typedef struct outcome {
  int status;             /* exit code, or 128 + signal, or -1 (not run) */
  char trace[TRACE_MAX];  /* the trace lines, hashes only */
} outcome;

static int usage(FILE *out, int code) {
  fprintf(out,
          "usage: zyntax-sim-check [--seeds A..B] [--runs N] [--timeout SECONDS] "
          "[--stop] -- PROGRAM [ARGS...]\n"
          "  Runs PROGRAM with ZYNTAX_RUNTIME=sim for every seed A..B (default "
          "1..100), N times each (default 2),\n"
          "  and reports seeds whose runs fail (FAIL) or disagree (DIVERGED).\n"
          "  --timeout: a run taking longer is killed and counts as failed "
          "(default 60).\n"
          "  --stop: stop at the first FAIL or DIVERGED.\n"
          "  Exit: 0 all passed and agreed, 1 something failed or diverged, 2 "
          "usage.\n");
  return code;
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end == s || s[0] == '-') return -1;
  *out = v;
  return (int)(end - s);
}

static int parse_seeds(const char *s, options *o) {
  int n = parse_u64(s, &o->first);
  if (n < 0) return -1;
  if (s[n] == '\0') {
    o->last = o->first;
    return 0;
  }
  if (strncmp(s + n, "..", 2) != 0) return -1;
  int m = parse_u64(s + n + 2, &o->last);
  return m < 0 || s[n + 2 + m] != '\0' || o->last < o->first ? -1 : 0;
}

static int parse(int argc, char **argv, options *o) {
  *o = (options){.first = 1, .last = 100, .runs = 2, .timeout_s = 60};
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    uint64_t v;
    if (strcmp(argv[i], "--help") == 0) exit(usage(stdout, 0));
    if (strcmp(argv[i], "--stop") == 0) {
      o->stop = 1;
    } else if (i + 1 < argc && strcmp(argv[i], "--seeds") == 0) {
      if (parse_seeds(argv[++i], o) != 0) return -1;
    } else if (i + 1 < argc && strcmp(argv[i], "--runs") == 0) {
      if (parse_u64(argv[++i], &v) <= 0 || v < 2 || v > MAX_RUNS) return -1;
      o->runs = (int)v;
    } else if (i + 1 < argc && strcmp(argv[i], "--timeout") == 0) {
      if (parse_u64(argv[++i], &v) <= 0 || v == 0 || v > 86400) return -1;
      o->timeout_s = (unsigned)v;
    } else {
      return -1;
    }
  }
  if (i + 1 >= argc) return -1;
  o->argv = argv + i + 1;
  return 0;
}

/* The hashes of a trace file's lines ("trace=HEX" of each), one per
 * runtime, in the order the program destroyed them. */
static void read_trace(const char *path, char *out, size_t size) {
  out[0] = '\0';
  FILE *f = fopen(path, "re");
  if (f == NULL) return;
  char line[512];
  size_t used = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    const char *t = strstr(line, "trace=");
    if (t == NULL) continue;
    size_t n = strspn(t + 6, "0123456789abcdef");
    if (used + n + 2 > size) break;
    if (used) out[used++] = ',';
    memcpy(out + used, t + 6, n);
    used += n;
    out[used] = '\0';
  }
  fclose(f);
}

/* Runs the program once with `seed`; fills *res. */
static void run_once(const options *o, uint64_t seed, outcome *res) {
  char tmpl[] = "/tmp/zyntax-sim-check-XXXXXX";
  int fd = mkstemp(tmpl);
  res->status = -1;
  res->trace[0] = '\0';
  if (fd < 0) return;
  close(fd);
  pid_t pid = fork();
  if (pid == 0) {
    char seed_s[32];
    snprintf(seed_s, sizeof seed_s, "%" PRIu64, seed);
    setenv("ZYNTAX_RUNTIME", "sim", 1);
    setenv("ZYNTAX_SIM_SEED", seed_s, 1);
    setenv("ZYNTAX_SIM_TRACE", tmpl, 1);
    alarm(o->timeout_s); /* survives exec: a hung run is killed */
    execvp(o->argv[0], o->argv);
    fprintf(stderr, "zyntax-sim-check: cannot run %s: %s\n", o->argv[0], strerror(errno));
    _exit(127);
  }
  int st = 0;
  if (pid > 0 && waitpid(pid, &st, 0) == pid)
    res->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  read_trace(tmpl, res->trace, sizeof res->trace);
  unlink(tmpl);
}

static void describe(const outcome *r, char *buf, size_t size) {
  if (r->status > 128)
    snprintf(buf, size, "killed by signal %d, trace %s", r->status - 128,
             r->trace[0] ? r->trace : "(none)");
  else
    snprintf(buf, size, "exit %d, trace %s", r->status, r->trace[0] ? r->trace : "(none)");
}

/* Where two runs' trace lists part: the first runtime (1-based, in destroy
 * order) whose hash differs, with both hashes, into `buf`. */
static void first_difference(const outcome *a, const outcome *b, char *buf, size_t size) {
  const char *p = a->trace, *q = b->trace;
  int k = 1;
  for (;;) {
    size_t n = strcspn(p, ","), m = strcspn(q, ",");
    if (n != m || strncmp(p, q, n) != 0) {
      static const char none[] = "(none)";
      snprintf(buf, size, "runtime %d: trace %.*s vs %.*s", k,
               (int)(n ? n : sizeof none - 1), n ? p : none,
               (int)(m ? m : sizeof none - 1), m ? q : none);
      return;
    }
    if (p[n] == '\0' || q[m] == '\0') break;
    p += n + 1, q += m + 1, k++;
  }
  snprintf(buf, size, "same traces");
}

static void print_command(const options *o, uint64_t seed) {
  printf("  replay: ZYNTAX_RUNTIME=sim ZYNTAX_SIM_SEED=%" PRIu64, seed);
  for (char **a = o->argv; *a != NULL; a++) printf(" %s", *a);
  printf("\n");
}

/* Checks one seed: 0 passed, 1 failed, 2 diverged. */
static int check_seed(const options *o, uint64_t seed) {
  outcome res[MAX_RUNS] = {{0, {0}}};
  char a[TRACE_MAX + 64], b[TRACE_MAX + 64];
  for (int r = 0; r < o->runs; r++) run_once(o, seed, &res[r]);
  for (int r = 1; r < o->runs; r++) {
    if (res[r].status == res[0].status && strcmp(res[r].trace, res[0].trace) == 0)
      continue;
    if (strchr(res[0].trace, ',') != NULL || strchr(res[r].trace, ',') != NULL) {
      /* Several runtimes: where they part, not every hash. */
      first_difference(&res[0], &res[r], a, sizeof a);
      printf("DIVERGED seed=%" PRIu64 ": run 1: exit %d; run %d: exit %d; first at %s\n",
             seed, res[0].status, r + 1, res[r].status, a);
    } else {
      describe(&res[0], a, sizeof a);
      describe(&res[r], b, sizeof b);
      printf("DIVERGED seed=%" PRIu64 ": run 1: %s; run %d: %s\n", seed, a, r + 1, b);
    }
    print_command(o, seed);
    return 2;
  }
  if (res[0].status == 0) return 0;
  describe(&res[0], a, sizeof a);
  printf("FAIL seed=%" PRIu64 ": %s (the same in all %d runs)\n", seed, a, o->runs);
  print_command(o, seed);
  return 1;
}

int main(int argc, char **argv) {
  options o;
  if (parse(argc, argv, &o) != 0) return usage(stderr, 2);
  uint64_t seeds = 0, failed = 0, diverged = 0, first_bad = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (uint64_t seed = o.first;; seed++) {
    int r = check_seed(&o, seed);
    seeds++;
    if (r != 0 && failed + diverged == 0) first_bad = seed;
    failed += r == 1;
    diverged += r == 2;
    fflush(stdout);
    if ((r != 0 && o.stop) || seed == o.last) break;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("zyntax-sim-check: %" PRIu64 " seeds x %d runs in %.2f s: %" PRIu64
         " failed, %" PRIu64 " diverged",
         seeds, o.runs, secs, failed, diverged);
  if (failed + diverged) printf(" (first: seed %" PRIu64 ")", first_bad);
  printf("\n");
  return failed + diverged ? 1 : 0;
}
