/* zyntax-bench run: the user's program once per backend in each
 * repetition, ZYNTAX_RUNTIME set for each child, the backends interleaved
 * and their order rotated from one repetition to the next (so drift on a
 * noisy machine spreads over every backend), measured with wait4(). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

double zh_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* tcp:auto: the last decimal number on a line that contains "listening on". */
static int port_in(const char *line) {
  if (strstr(line, "listening on") == NULL) return 0;
  int port = 0;
  for (const char *p = line; *p; p++)
    if (*p >= '0' && *p <= '9' && (p == line || p[-1] < '0' || p[-1] > '9'))
      port = atoi(p);
  return port > 0 && port < 65536 ? port : 0;
}

/* The reader thread: drains the child's output (a full pipe would stall
 * it), keeps the last line and the first port announced. */
static void *read_output(void *arg) {
  zh_child *c = arg;
  FILE *in = fdopen(c->out, "r");
  char line[sizeof c->last];
  while (in && fgets(line, sizeof line, in)) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0]) memcpy(c->last, line, sizeof line);
    int port = port_in(line);
    int none = 0;
    if (port) atomic_compare_exchange_strong(&c->port, &none, port);
  }
  int none = 0;
  atomic_compare_exchange_strong(&c->port, &none, -1);
  if (in) fclose(in);
  return NULL;
}

/* --stats: an empty file the child's libzyntax appends its lines to. */
static void stats_file(const zh_options *opt, zh_child *c) {
  if (!opt->stats) return;
  snprintf(c->stats_path, sizeof c->stats_path, "/tmp/zyntax-bench-stats-XXXXXX");
  int fd = mkstemp(c->stats_path);
  if (fd < 0) c->stats_path[0] = '\0';
  else close(fd);
}

/* The lines the child's runtimes appended (malloc'd; NULL if none). */
static char *stats_lines(zh_child *c) {
  if (!c->stats_path[0]) return NULL;
  FILE *f = fopen(c->stats_path, "r");
  char *text = NULL;
  size_t size = 0;
  if (f) {
    FILE *mem = open_memstream(&text, &size);
    char buf[4096];
    size_t n;
    while (mem && (n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, mem);
    if (mem) fclose(mem);
    fclose(f);
  }
  unlink(c->stats_path);
  c->stats_path[0] = '\0';
  if (text && size == 0) free(text), text = NULL;
  return text;
}

int zh_child_start(const zh_options *opt, const char *backend, zh_child *c, zh_run *run) {
  int fds[2];
  memset(c, 0, sizeof *c);
  if (pipe(fds) != 0) return snprintf(run->status, sizeof run->status, "pipe: %s", strerror(errno)), -1;
  stats_file(opt, c);
  fflush(stdout); /* not fflush(NULL): a reader thread holds its FILE lock */
  fflush(stderr);
  c->start_s = zh_now_s();
  c->pid = fork();
  if (c->pid == 0) {
    close(fds[0]);
    if (c->stats_path[0]) setenv("ZYNTAX_STATS", c->stats_path, 1);
    zh_exec(opt, backend, opt->program, NULL, fds[1]);
  }
  close(fds[1]);
  c->out = fds[0];
  if (c->pid < 0) {
    close(fds[0]);
    free(stats_lines(c)); /* removes the file */
    return snprintf(run->status, sizeof run->status, "fork: %s", strerror(errno)), -1;
  }
  c->reading = pthread_create(&c->reader, NULL, read_output, c) == 0;
  if (!c->reading) close(fds[0]);
  return 0;
}

static double seconds(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

static void describe(int status, const char *last, char *buf, size_t size) {
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) snprintf(buf, size, "exit 0");
  else if (WIFEXITED(status)) snprintf(buf, size, "exit %d: %s", WEXITSTATUS(status), last);
  else snprintf(buf, size, "signal %d: %s", WTERMSIG(status), last);
}

int zh_child_exited(const zh_child *c) {
  siginfo_t info = {0};
  return waitid(P_PID, (id_t)c->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid != 0;
}

int zh_child_wait(zh_child *c, double timeout_s, zh_run *run, int *status) {
  struct rusage ru = {0};
  double deadline = zh_now_s() + timeout_s;
  pid_t got;
  while ((got = wait4(c->pid, status, timeout_s < 0 ? 0 : WNOHANG, &ru)) == 0 ||
         (got < 0 && errno == EINTR)) {
    if (zh_now_s() > deadline) return -1;
    usleep(5000);
  }
  run->wall_s = zh_now_s() - c->start_s;
  if (c->reading) pthread_join(c->reader, NULL);
  c->reading = 0;
  if (got < 0) *status = W_EXITCODE(127, 0);
  run->user_s = seconds(ru.ru_utime);
  run->sys_s = seconds(ru.ru_stime);
  run->max_rss_kb = ru.ru_maxrss;
  run->nvcsw = ru.ru_nvcsw;
  run->nivcsw = ru.ru_nivcsw;
  describe(*status, c->last, run->status, sizeof run->status);
  run->zyntax_stats = stats_lines(c);
  return 0;
}

/* A run without --load: start, wait, measure; ok when it exits 0. */
static void run_plain(const zh_options *opt, zh_run *run) {
  zh_child c;
  int status;
  if (zh_child_start(opt, run->backend, &c, run) != 0) return;
  zh_child_wait(&c, -1, run, &status);
  run->ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void run_one(const zh_options *opt, zh_run *run) {
  if (opt->load) zh_run_loaded(opt, run);
  else run_plain(opt, run);
}

/* Repetition r runs backend (r + i) % B at position i. Warm-up repetitions
 * are run the same way and not kept. */
static size_t run_all(const zh_options *opt, zh_run *runs) {
  size_t b_count = opt->backend_count, n = 0;
  unsigned total = opt->warmup + opt->reps;
  int tty = isatty(STDERR_FILENO);
  for (unsigned r = 0; r < total; r++)
    for (size_t i = 0; i < b_count; i++) {
      zh_run scratch, *run = r < opt->warmup ? &scratch : &runs[n];
      *run = (zh_run){.backend = opt->backends[(r + i) % b_count], .rep = r, .position = (unsigned)i};
      fprintf(stderr, "%s[%s %u/%u] %s%s", tty ? "\r\033[K" : "", r < opt->warmup ? "warm-up" : "rep",
              r < opt->warmup ? r + 1 : r - opt->warmup + 1, r < opt->warmup ? opt->warmup : opt->reps,
              run->backend, tty ? "" : "\n");
      run_one(opt, run);
      if (!run->ok)
        fprintf(stderr, "%szyntax-bench run: %s failed: %s\n", tty ? "\n" : "", run->backend, run->status);
      if (run == &scratch) free(scratch.load_output), free(scratch.zyntax_stats);
      else run->rep = r - opt->warmup, n++;
    }
  if (tty) fprintf(stderr, "\r\033[K");
  return n;
}

/* The baseline first: ratios are to backends[0]. */
static int order_baseline(zh_options *opt) {
  if (opt->baseline == NULL) return 0;
  for (size_t i = 0; i < opt->backend_count; i++)
    if (strcmp(opt->backends[i], opt->baseline) == 0) {
      const char *first = opt->backends[0];
      opt->backends[0] = opt->backends[i];
      opt->backends[i] = first;
      return 0;
    }
  fprintf(stderr, "zyntax-bench run: --baseline %s is not among the backends\n", opt->baseline);
  return -1;
}

int zh_run_main(const zh_options *given) {
  zh_options opt = *given;
  if (order_baseline(&opt) != 0) return 2;
  if (opt.load && opt.ready == NULL) opt.ready = "tcp:auto";
  if (opt.load && strncmp(opt.ready, "tcp:", 4) != 0)
    return fprintf(stderr, "zyntax-bench run: --ready must be tcp:PORT or tcp:auto\n"), 2;
  signal(SIGPIPE, SIG_IGN);
  zh_run *runs = calloc((size_t)opt.reps * opt.backend_count, sizeof *runs);
  if (runs == NULL) return perror("zyntax-bench run"), 2;
  size_t n = run_all(&opt, runs);
  zh_run_markdown(&opt, runs, n);
  int rc = 0;
  if (opt.json_path && zh_run_json(&opt, runs, n) != 0) rc = 1;
  if (opt.svg_path && zh_run_svg(&opt, runs, n) != 0) rc = 1;
  for (size_t i = 0; i < n; i++) {
    if (!runs[i].ok) rc = 1;
    free(runs[i].load_output);
    free(runs[i].zyntax_stats);
  }
  free(runs);
  return rc;
}
