/* zyntax-bench: A/B runs of the same poll functions on every backend beside
 * native libuv, libev and Tokio code doing the same work. Usage: --help. */
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zyntax/runtime.h>

#include "harness.h"

static void usage(FILE *to) {
  fprintf(to,
          "usage: zyntax-bench [options]\n"
          "  --backends LIST   comma-separated (default: every backend that loads)\n"
          "  --workloads LIST  comma-separated (default: all)\n"
          "  --reps N          measured repetitions after one warm-up (default 5)\n"
          "  --procs N         processes per series, each with its warm-up and\n"
          "                    repetitions, in rounds over all series; samples\n"
          "                    pooled (default 1)\n"
          "  --quick           small sizes, a few seconds in all (a smoke test)\n"
          "  --no-native       skip the native baselines\n"
          "  --workers N       ZYNTAX_WORKER_THREADS for tokio, zyntax and native "
          "(default 2)\n"
          "  --cpus LIST       pin every child to these CPUs (e.g. 0 or 0-1)\n"
          "  --syscalls        also count system calls per operation (strace -f -c)\n"
          "  --allocs          also count allocations per operation (LD_PRELOAD)\n"
          "  --json FILE       every sample and the machine, as JSON\n"
          "  --svg FILE        a bar chart of the ratios\n"
          "\n"
          "usage: zyntax-bench run [options] -- PROGRAM ARGS...\n"
          "  runs PROGRAM once per backend in each repetition (ZYNTAX_RUNTIME set,\n"
          "  backends interleaved, order rotated); --backends, --reps, --workers,\n"
          "  --cpus, --json, --svg as above, and:\n"
          "  --warmup N        unreported repetitions first (default 1)\n"
          "  --baseline NAME   the backend ratios are to (default the first)\n"
          "  --load 'CMD'      a server: start PROGRAM, wait for --ready, run CMD\n"
          "                    (sh -c, {port} replaced), then SIGTERM PROGRAM\n"
          "  --ready COND      tcp:PORT (the port accepts) or tcp:auto (the port is\n"
          "                    the last number on PROGRAM's first output line that\n"
          "                    contains 'listening on'); default tcp:auto\n"
          "  --ready-timeout S seconds to wait for --ready (default 30)\n"
          "  --grace S         seconds from SIGTERM to SIGKILL (default 5)\n"
          "  --stats           ZYNTAX_STATS set for each child: its runtimes' counter\n"
          "                    lines go into --json (polls are timed: they cost more)\n");
}

/* Splits a comma list into `out` (pointers into `list`, which is modified). */
static size_t split(char *list, const char **out, size_t max) {
  size_t n = 0;
  for (char *tok = strtok(list, ","); tok && n < max; tok = strtok(NULL, ",")) out[n++] = tok;
  return n;
}

static int known_workload(const char *name) {
  for (size_t i = 0; i < zb_workload_count; i++)
    if (strcmp(zb_workload_names[i], name) == 0) return 1;
  return 0;
}

/* Options from argv[first]; `run` stops at "--" (the program follows). */
static int parse_options(int argc, char **argv, int first, zh_options *opt) {
  for (int i = first; i < argc; i++) {
    const char *a = argv[i];
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;
    int takes = 1;
    if (strcmp(a, "--quick") == 0) opt->quick = 1, takes = 0;
    else if (strcmp(a, "--no-native") == 0) opt->native = 0, takes = 0;
    else if (strcmp(a, "--syscalls") == 0) opt->syscalls = 1, takes = 0;
    else if (strcmp(a, "--allocs") == 0) opt->allocs = 1, takes = 0;
    else if (opt->run && strcmp(a, "--stats") == 0) opt->stats = 1, takes = 0;
    else if (strcmp(a, "--help") == 0) return usage(stdout), exit(0), 0;
    else if (strcmp(a, "--") == 0 && opt->run) {
      opt->program = argv + i + 1;
      break;
    }
    else if (value == NULL) return fprintf(stderr, "zyntax-bench: %s needs a value\n", a), -1;
    else if (strcmp(a, "--backends") == 0)
      opt->backend_count = split(argv[i + 1], opt->backends, 8);
    else if (strcmp(a, "--workloads") == 0)
      opt->workload_count = split(argv[i + 1], opt->workloads, 16);
    else if (strcmp(a, "--reps") == 0) opt->reps = (unsigned)atoi(value);
    else if (!opt->run && strcmp(a, "--procs") == 0) opt->procs = (unsigned)atoi(value);
    else if (strcmp(a, "--workers") == 0) opt->workers = value;
    else if (strcmp(a, "--cpus") == 0) opt->cpus = value;
    else if (strcmp(a, "--json") == 0) opt->json_path = value;
    else if (strcmp(a, "--svg") == 0) opt->svg_path = value;
    else if (opt->run && strcmp(a, "--warmup") == 0) opt->warmup = (unsigned)atoi(value);
    else if (opt->run && strcmp(a, "--baseline") == 0) opt->baseline = value;
    else if (opt->run && strcmp(a, "--load") == 0) opt->load = value;
    else if (opt->run && strcmp(a, "--ready") == 0) opt->ready = value;
    else if (opt->run && strcmp(a, "--grace") == 0) opt->grace_s = atof(value);
    else if (opt->run && strcmp(a, "--ready-timeout") == 0) opt->ready_timeout_s = atof(value);
    else return fprintf(stderr, "zyntax-bench: unknown option %s\n", a), usage(stderr), -1;
    i += takes;
  }
  if (opt->run && (opt->program == NULL || opt->program[0] == NULL))
    return fprintf(stderr, "zyntax-bench run: no -- PROGRAM\n"), -1;
  if (opt->reps < 1 || opt->reps > ZH_MAX_REPS)
    return fprintf(stderr, "zyntax-bench: --reps must be 1..%d\n", ZH_MAX_REPS), -1;
  if (opt->procs < 1 || opt->procs * opt->reps > ZH_MAX_REPS)
    return fprintf(stderr, "zyntax-bench: --procs times --reps must be 1..%d\n", ZH_MAX_REPS), -1;
  for (size_t w = 0; w < opt->workload_count; w++)
    if (!known_workload(opt->workloads[w]))
      return fprintf(stderr, "zyntax-bench: unknown workload %s\n", opt->workloads[w]), -1;
  return 0;
}

/* Defaults: every workload, every backend that loads (a named one that does
 * not load is an error: an A/B run must not quietly lose a side). */
static int apply_defaults(zh_options *opt) {
  if (opt->workload_count == 0 && !opt->run)
    for (size_t i = 0; i < zb_workload_count; i++) opt->workloads[opt->workload_count++] = zb_workload_names[i];
  int named = opt->backend_count > 0;
  if (!named)
    opt->backend_count = zh_backends(opt->backends, sizeof opt->backends / sizeof opt->backends[0]);
  size_t kept = 0;
  for (size_t i = 0; i < opt->backend_count; i++) {
    zyntax_backend_info info = {.size = sizeof info};
    if (zyntax_backend_probe(opt->backends[i], &info) == 0) opt->backends[kept++] = opt->backends[i];
    else if (named) return fprintf(stderr, "zyntax-bench: %s\n", info.message), -1;
  }
  opt->backend_count = kept;
  if (!opt->workers && !opt->run) opt->workers = "2"; /* run: the program's own default */
  return kept ? 0 : (fprintf(stderr, "zyntax-bench: no backend loads\n"), -1);
}

static int find_bin_dir(zh_options *opt, const char *argv0) {
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0) return fprintf(stderr, "zyntax-bench: cannot find %s\n", argv0), -1;
  self[len] = '\0';
  snprintf(opt->bin_dir, sizeof opt->bin_dir, "%s", dirname(self));
  return 0;
}

/* The series to run, in report order. */
static size_t plan(const zh_options *opt, zh_series *out, size_t max) {
  size_t n = 0;
  for (size_t w = 0; w < opt->workload_count; w++) {
    if (strcmp(opt->workloads[w], "dispatch") == 0 && n < max)
      out[n++] = (zh_series){.workload = "dispatch", .backend = "", .kind = ZH_DIRECT};
    for (size_t b = 0; b < opt->backend_count; b++)
      for (int native = 0; native <= opt->native && n < max; native++)
        out[n++] = (zh_series){.workload = opt->workloads[w], .backend = opt->backends[b],
                               .kind = native ? ZH_NATIVE : ZH_ZYNTAX};
  }
  for (size_t i = 0; i < n; i++) out[i].syscalls_per_op = out[i].allocs_per_op = NAN;
  return n;
}

/* One process of series `s` (its round `round` of opt->procs); the counts
 * (--syscalls, --allocs) after the last. A series that failed or is absent
 * runs no more. */
static void run_one(const zh_options *opt, zh_series *s, unsigned round, int tty) {
  const char *who = s->kind == ZH_DIRECT ? "direct call" : s->kind == ZH_NATIVE ? "native" : "zyntax-on";
  fprintf(stderr, "%s[process %u/%u] %s: %s %s%s", tty ? "\r\033[K" : "", round + 1, opt->procs,
          s->workload, who, s->backend, tty ? "" : "\n");
  zh_run_series(opt, s);
  if (s->status == 0 && round + 1 == opt->procs) {
    if (opt->syscalls) zh_count_syscalls(opt, s);
    if (opt->allocs) zh_count_allocs(opt, s);
  }
  if (ZH_FAILED(s->status))
    fprintf(stderr, "%szyntax-bench: %s %s %s failed (status %d): %s\n", tty ? "\n" : "",
            s->workload, who, s->backend, s->status, s->error);
}

/* Every series once per round, so the processes of one side are spread
 * over the run and each lands beside its counterpart's. */
static void run_all(const zh_options *opt, zh_series *all, size_t n) {
  int tty = isatty(STDERR_FILENO);
  for (size_t i = 0; i < n; i++) all[i].count = 0;
  for (unsigned round = 0; round < opt->procs; round++)
    for (size_t i = 0; i < n; i++)
      if (round == 0 || all[i].status == 0) run_one(opt, &all[i], round, tty);
  if (tty) fprintf(stderr, "\r\033[K");
}

int main(int argc, char **argv) {
  static zh_series all[256]; /* large: not on the stack */
  zh_options opt = {.reps = 5, .procs = 1, .native = 1, .warmup = 1, .grace_s = 5, .ready_timeout_s = 30};
  opt.run = argc > 1 && strcmp(argv[1], "run") == 0;
  if (parse_options(argc, argv, 1 + opt.run, &opt) != 0 || apply_defaults(&opt) != 0 ||
      find_bin_dir(&opt, argv[0]) != 0)
    return 2;
  if (opt.run) return zh_run_main(&opt);
  size_t n = plan(&opt, all, sizeof all / sizeof all[0]);
  run_all(&opt, all, n);
  zh_print_markdown(&opt, all, n);
  int rc = 0;
  if (opt.json_path && zh_write_json(&opt, all, n) != 0) rc = 1;
  if (opt.svg_path && zh_write_svg(&opt, all, n) != 0) rc = 1;
  for (size_t i = 0; i < n; i++)
    if (ZH_FAILED(all[i].status)) rc = 1;
  return rc;
}
