/* zyntax-bench, the harness: runs every workload program in child processes,
 * collects their samples and reports them (Markdown, JSON, SVG). */
#ifndef ZYNTAX_BENCH_HARNESS_H
#define ZYNTAX_BENCH_HARNESS_H

#include <stddef.h>

#include "bench_common.h"

#define ZH_MAX_REPS 100
#define ZH_NOT_OFFERED 3 /* the program does not have this workload */
#define ZH_NOT_BUILT 4 /* the program is not in the build (e.g. no cargo) */

/** Nonzero for a series that failed (not merely absent). */
#define ZH_FAILED(status) ((status) != 0 && (status) != ZH_NOT_OFFERED && (status) != ZH_NOT_BUILT)

/** Who runs a workload: the zyntax child on a backend, that backend's native
 * baseline, or the direct-call reference (dispatch only). */
typedef enum zh_kind { ZH_ZYNTAX, ZH_NATIVE, ZH_DIRECT } zh_kind;

/** Every sample of one workload by one implementation. */
typedef struct zh_series {
  const char *workload;
  const char *backend; /* "uv", "ev", "tokio" ("" for direct) */
  zh_kind kind;
  int status; /* 0 ran; ZH_NOT_OFFERED, ZH_NOT_BUILT; else failed (exit
               * status or -1) */
  char error[512]; /* the child's last non-sample output line, on failure */
  size_t count;
  zb_sample samples[ZH_MAX_REPS];
  double syscalls_per_op; /* --syscalls; NAN when not measured */
  double allocs_per_op; /* --allocs; NAN when not measured */
} zh_series;

/** What to run and how. */
typedef struct zh_options {
  const char *backends[8];
  size_t backend_count;
  const char *workloads[16];
  size_t workload_count;
  unsigned reps;
  /* Processes per series (--procs): each its own warm-up and `reps`
   * repetitions, run in rounds over every series, the samples pooled. A
   * process can land in a slower or faster mode than the next one (where
   * its memory and sockets fall), so one process per side makes a ratio
   * swing by more than the layer costs. */
  unsigned procs;
  int quick;
  int native; /* run the native baselines (default 1) */
  int syscalls; /* strace -c mode */
  int allocs; /* LD_PRELOAD counting mode */
  const char *cpus; /* taskset-style list for sched_setaffinity, or NULL */
  const char *workers; /* ZYNTAX_WORKER_THREADS for tokio (native and zyntax) */
  const char *json_path;
  const char *svg_path;
  char bin_dir[4096]; /* where the workload programs are */
  /* zyntax-bench run */
  int run; /* the `run` subcommand */
  unsigned warmup; /* unreported repetitions first (default 1) */
  const char *baseline; /* the backend ratios are to (default the first) */
  const char *load; /* --load: sh -c command, {port} substituted */
  const char *ready; /* --ready: "tcp:PORT" or "tcp:auto" */
  double grace_s; /* SIGTERM to SIGKILL (default 5) */
  double ready_timeout_s; /* the ready condition's bound (default 30) */
  int stats; /* --stats: each child's ZYNTAX_STATS lines into the JSON */
  char **program; /* PROGRAM ARGS..., NULL-terminated */
} zh_options;

/** The program that runs `s` (an absolute path), or NULL if it was not built. */
const char *zh_program(const zh_options *opt, const zh_series *s, char *buf, size_t size);

/** In a forked child: stdout and stderr to `out_fd`, ZYNTAX_RUNTIME set to
 * `runtime` (unless NULL), --workers and --cpus applied, `extra_env` ("K=V")
 * added, then argv executed (searched on PATH). Never returns. */
void zh_exec(const zh_options *opt, const char *runtime, char *const *argv,
             char *const *extra_env, int out_fd);

/** Runs one child for `s` with opt->reps repetitions, adding its samples to
 * those `s` holds (the caller empties `s->count` before the first), and sets
 * its status and error. */
void zh_run_series(const zh_options *opt, zh_series *s);

/** --syscalls / --allocs: per-operation counts from runs of 1 and 4 reps. */
void zh_count_syscalls(const zh_options *opt, zh_series *s);
void zh_count_allocs(const zh_options *opt, zh_series *s);

/** Median, min and max of a series' per-op figure (ns/op: wall, or CPU for
 * timers), and of its p50/p99. */
typedef struct zh_summary {
  double median, min, max;
  double p50, p99; /* tcp_echo: medians over reps, ns */
  double ops_per_sec; /* median */
} zh_summary;

int zh_summarize(const zh_series *s, zh_summary *out);

/** The median of v[0..n) (n > 0); sorts v. */
double zh_median(double *v, size_t n);

/** A ratio of medians, median(a) / median(b), with its 95% confidence
 * interval from a percentile bootstrap (ZH_BOOTSTRAP_RESAMPLES resamples of
 * each side, fixed seed: the same data give the same interval). `valid` is
 * 0 when a side has fewer than 3 values (no interval then). */
#define ZH_BOOTSTRAP_RESAMPLES 10000
typedef struct zh_ratio_ci {
  double ratio, low, high;
  int valid;
  int significant; /* the interval excludes 1.0 */
} zh_ratio_ci;

zh_ratio_ci zh_ratio_of_medians(const double *a, size_t na, const double *b, size_t nb);

/** The figure a workload compares by: CPU ns per op for timers (its wall
 * time is bounded by the sleeps), wall ns per op otherwise. */
int zh_uses_cpu_time(const char *workload);

/** Reports. */
void zh_print_markdown(const zh_options *opt, const zh_series *all, size_t n);
int zh_write_json(const zh_options *opt, const zh_series *all, size_t n);
int zh_write_svg(const zh_options *opt, const zh_series *all, size_t n);

/** A bar chart (--svg): `groups` groups of `bars` bars, value[g * bars + b]
 * with an optional interval (low/high NULL, or NAN for none); a dashed line
 * at `reference` (1.0 for ratios). Returns 0 or -1 (perror'd). */
typedef struct zh_chart {
  const char *title;
  size_t groups, bars;
  const char *const *group_names;
  const char *const *bar_names; /* the legend */
  const double *value, *low, *high; /* value < 0: no bar */
  double reference;
} zh_chart;

int zh_svg_chart(const char *path, const zh_chart *chart);

/** `zyntax-bench run`: the user's program on every backend (run.c). */
int zh_run_main(const zh_options *opt);

/** A line about the machine: CPU model, cores, kernel, library versions. */
void zh_machine(char *buf, size_t size);

/* The backends that load here (zyntax_backend_foreach: linked-in ones and
 * plugins on the search path), by name, sorted, each once; at most `max`.
 * The names are static storage. */
size_t zh_backends(const char **out, size_t max);

/** The series for (workload, backend, kind) in `all`, or NULL. */
const zh_series *zh_find(const zh_series *all, size_t n, const char *workload,
                         const char *backend, zh_kind kind);

#endif
