/* zyntax-bench run: the records of each run of the user's program and the
 * pieces run.c (the plan and plain runs), load.c (--load runs) and
 * run_report.c (Markdown, JSON, SVG) share. */
#ifndef ZYNTAX_BENCH_RUN_H
#define ZYNTAX_BENCH_RUN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "harness.h"

#define ZH_RUN_MAX_BACKENDS 8

/** wrk's summary, when the load command printed one ("Requests/sec:"). */
typedef struct zh_wrk {
  int parsed;
  double requests_per_sec, requests;
  double latency_avg_us, latency_stdev_us, latency_max_us;
  double socket_errors; /* connect + read + write + timeout */
  double non_2xx;       /* "Non-2xx or 3xx responses" */
} zh_wrk;

/** One run of the program on one backend. */
typedef struct zh_run {
  const char *backend;
  unsigned rep, position; /* repetition; place in that repetition's order */
  int ok;                 /* counted; else `status` says why not */
  char status[256];       /* "exit 0", "signal 11", or what went wrong */
  double wall_s, user_s, sys_s;
  long max_rss_kb, nvcsw, nivcsw;
  /* --load */
  int port;
  double load_wall_s;
  char *load_output; /* the load command's stdout (malloc'd, may be NULL) */
  zh_wrk wrk;
  /* --stats: the ZYNTAX_STATS lines of the program's runtimes, one JSON
   * object a line (malloc'd, may be NULL) */
  char *zyntax_stats;
} zh_run;

/** A started program: its output (stdout and stderr, one pipe) is read by a
 * thread that keeps the last line and, for tcp:auto, the port. */
typedef struct zh_child {
  pid_t pid;
  int out;
  pthread_t reader;
  int reading;
  char last[200];
  atomic_int port; /* 0 not yet, > 0 found, -1 output ended without it */
  double start_s;
  char stats_path[64]; /* --stats: the child's ZYNTAX_STATS file, else "" */
} zh_child;

double zh_now_s(void);

/** Starts opt->program on `backend`. 0, or -1 with run->status set. */
int zh_child_start(const zh_options *opt, const char *backend, zh_child *c, zh_run *run);

/** 1 when the child has ended (it is not reaped: zh_child_wait does that). */
int zh_child_exited(const zh_child *c);

/** Waits up to `timeout_s` (< 0: no bound) for the child's end; 0 with the
 * run's wall time, rusage, status text and (--stats) ZYNTAX_STATS lines
 * filled, -1 if it is still running. */
int zh_child_wait(zh_child *c, double timeout_s, zh_run *run, int *status);

/** Runs opt->load against a started program (load.c). */
void zh_run_loaded(const zh_options *opt, zh_run *run);

/** The figure backends are compared by: wrk's requests/s (higher is
 * better) under a wrk load, the load command's wall time under another
 * load, the program's wall time otherwise (lower is better). */
double zh_run_metric(const zh_options *opt, const zh_run *run);
int zh_run_higher_is_better(const zh_options *opt, const zh_run *runs, size_t n);
const char *zh_run_metric_name(const zh_options *opt, const zh_run *runs, size_t n);

/** The reports of `runs` (run_report.c). */
void zh_run_markdown(const zh_options *opt, const zh_run *runs, size_t n);
int zh_run_json(const zh_options *opt, const zh_run *runs, size_t n);
int zh_run_svg(const zh_options *opt, const zh_run *runs, size_t n);

/** JSON helpers shared with the workload report (report.c). */
void zh_json_string(FILE *f, const char *s);
void zh_json_number(FILE *f, double v);
/** Opens `path` and writes `{ "machine": ...` (the caller adds ",\n ..." and
 * the closing brace); NULL (perror'd) on failure. */
FILE *zh_json_open(const char *path);

#endif
