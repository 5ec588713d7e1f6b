/* Running workload programs: one child process per (workload, program),
 * its stdout+stderr read line by line, `sample` lines parsed. */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* A child that hangs is killed after this long (a failed run, not a hang). */
enum { CHILD_TIMEOUT_SECONDS = 900 };

const char *zh_program(const zh_options *opt, const zh_series *s, char *buf, size_t size) {
  /* A backend's native baseline is zyntax-bench-native-NAME by convention;
   * a backend without one has no native series (NULL). */
  if (s->kind == ZH_NATIVE)
    snprintf(buf, size, "%s/zyntax-bench-native-%s", opt->bin_dir, s->backend);
  else
    snprintf(buf, size, "%s/zyntax-bench-zyntax", opt->bin_dir);
  return access(buf, X_OK) == 0 ? buf : NULL;
}

/* Applies --cpus ("0,2-3") to the calling process. */
static void pin(const char *cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (const char *p = cpus; *p;) {
    char *end;
    long lo = strtol(p, &end, 10), hi = lo;
    if (*end == '-') hi = strtol(end + 1, &end, 10);
    for (long c = lo; c <= hi && c >= 0 && c < CPU_SETSIZE; c++) CPU_SET((int)c, &set);
    p = *end == ',' ? end + 1 : end + strlen(end);
  }
  if (sched_setaffinity(0, sizeof set, &set) != 0) perror("zyntax-bench: --cpus");
}

void zh_exec(const zh_options *opt, const char *runtime, char *const *argv,
             char *const *extra_env, int out_fd) {
  dup2(out_fd, STDOUT_FILENO);
  dup2(out_fd, STDERR_FILENO);
  if (runtime) setenv("ZYNTAX_RUNTIME", runtime, 1);
  if (opt->workers) setenv("ZYNTAX_WORKER_THREADS", opt->workers, 1);
  for (size_t i = 0; extra_env && extra_env[i]; i++) putenv(extra_env[i]);
  if (opt->cpus) pin(opt->cpus);
  alarm(CHILD_TIMEOUT_SECONDS); /* survives exec: kills a hung child */
  execvp(argv[0], argv); /* a wrapper (strace) is found on PATH */
  fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

/* Parses "sample workload=W rep=I ops=N wall_ns=T cpu_ns=C p50_ns=P p99_ns=Q". */
static int parse_sample(const char *line, zb_sample *out) {
  unsigned long long ops, wall, cpu, p50, p99;
  unsigned rep;
  char name[64];
  if (sscanf(line, "sample workload=%63s rep=%u ops=%llu wall_ns=%llu cpu_ns=%llu p50_ns=%llu p99_ns=%llu",
             name, &rep, &ops, &wall, &cpu, &p50, &p99) != 7 || ops == 0)
    return -1;
  *out = (zb_sample){ops, wall, cpu, p50, p99};
  return 0;
}

static void read_output(FILE *in, zh_series *s) {
  char line[1024];
  while (fgets(line, sizeof line, in)) {
    zb_sample sample;
    if (parse_sample(line, &sample) == 0) {
      if (s->count < ZH_MAX_REPS) s->samples[s->count++] = sample;
    } else if (strncmp(line, "backend:", 8) != 0) {
      line[strcspn(line, "\n")] = '\0';
      line[sizeof s->error - 1] = '\0'; /* keep what fits */
      memcpy(s->error, line, strlen(line) + 1);
    }
  }
}

/* Runs `prefix... PROGRAM WORKLOAD REPS QUICK` with `extra_env` ("K=V"
 * strings) added; returns the exit status (or -1 if it could not start or
 * was killed) with the samples in `s`. */
static int run_child(const zh_options *opt, zh_series *s, char *const *prefix,
                     unsigned reps, char *const *extra_env) {
  char path[4200], reps_text[16];
  const char *program = zh_program(opt, s, path, sizeof path);
  if (program == NULL) return snprintf(s->error, sizeof s->error, "not built"), ZH_NOT_BUILT;
  const char *workload = s->kind == ZH_DIRECT ? "direct" : s->workload;
  snprintf(reps_text, sizeof reps_text, "%u", reps);
  char *argv[16];
  size_t argc = 0;
  while (prefix && prefix[argc]) argv[argc] = prefix[argc], argc++;
  argv[argc++] = (char *)program;
  argv[argc++] = (char *)workload;
  argv[argc++] = reps_text;
  argv[argc++] = opt->quick ? "1" : "0";
  argv[argc] = NULL;
  int fds[2];
  if (pipe(fds) != 0) return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    zh_exec(opt, s->kind == ZH_ZYNTAX ? s->backend : NULL, argv, extra_env, fds[1]);
  }
  close(fds[1]);
  if (pid < 0) return close(fds[0]), -1;
  FILE *in = fdopen(fds[0], "r");
  read_output(in, s);
  fclose(in);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void zh_run_series(const zh_options *opt, zh_series *s) {
  size_t before = s->count;
  s->error[0] = '\0';
  s->status = run_child(opt, s, NULL, opt->reps, NULL);
  if (s->status == 0 && s->count - before != opt->reps) {
    s->status = -1;
    snprintf(s->error, sizeof s->error, "%zu samples for %u repetitions", s->count - before,
             opt->reps);
  }
}

/* Operations one repetition does (from a parsed sample). */
static double ops_of(const zh_series *s) { return s->count ? (double)s->samples[0].ops : 0; }

/* Runs with 1 and 1 + EXTRA_REPS measured repetitions and returns what the
 * extra ones add, per operation: set-up, warm-up and exit cancel out.
 * `measure` runs the child and returns the count, or -1. */
enum { EXTRA_REPS = 3 };

typedef double (*counter_fn)(const zh_options *opt, zh_series *s, unsigned reps);

static double per_op(const zh_options *opt, zh_series *s, counter_fn measure) {
  zh_series scratch = *s;
  double one = measure(opt, &scratch, 1);
  double ops = ops_of(&scratch);
  double more = measure(opt, &scratch, 1 + EXTRA_REPS);
  return one < 0 || more < 0 || ops == 0 ? NAN : (more - one) / (ops * EXTRA_REPS);
}

static double strace_calls(const zh_options *opt, zh_series *s, unsigned reps) {
  char out[] = "/tmp/zyntax-bench-strace-XXXXXX";
  int fd = mkstemp(out);
  if (fd < 0) return -1;
  close(fd);
  char *prefix[] = {"strace", "-f", "-c", "-o", out, NULL};
  s->count = 0;
  int rc = run_child(opt, s, prefix, reps, NULL);
  double calls = -1;
  FILE *f = fopen(out, "r");
  char line[256];
  while (f && fgets(line, sizeof line, f)) {
    double pct, secs, usecs, n;
    char last[32];
    if (strstr(line, " total") && sscanf(line, "%lf %lf %lf %lf", &pct, &secs, &usecs, &n) == 4)
      calls = n;
    else if (strstr(line, " total") && sscanf(line, "%lf %lf %lf %31s", &pct, &secs, &n, last) == 4)
      calls = n; /* strace without the usecs/call column */
  }
  if (f) fclose(f);
  unlink(out);
  return rc == 0 ? calls : -1;
}

void zh_count_syscalls(const zh_options *opt, zh_series *s) {
  s->syscalls_per_op = per_op(opt, s, strace_calls);
}

static double preload_allocs(const zh_options *opt, zh_series *s, unsigned reps) {
  char out[] = "/tmp/zyntax-bench-allocs-XXXXXX";
  int fd = mkstemp(out);
  if (fd < 0) return -1;
  close(fd);
  char env_out[128], preload[4200];
  snprintf(env_out, sizeof env_out, "ZYNTAX_BENCH_ALLOC_OUT=%s", out);
  snprintf(preload, sizeof preload, "LD_PRELOAD=%s/libzyntax-bench-alloc.so", opt->bin_dir);
  char *env[] = {env_out, preload, NULL};
  s->count = 0;
  int rc = run_child(opt, s, NULL, reps, env);
  unsigned long long n = 0;
  FILE *f = fopen(out, "r");
  int got = f && fscanf(f, "%llu", &n) == 1;
  if (f) fclose(f);
  unlink(out);
  return rc == 0 && got ? (double)n : -1;
}

void zh_count_allocs(const zh_options *opt, zh_series *s) {
  s->allocs_per_op = per_op(opt, s, preload_allocs);
}
