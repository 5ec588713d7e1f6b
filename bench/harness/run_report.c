/* zyntax-bench run's reports: the Markdown table on stdout, --json, --svg.
 * Failed runs are listed and never enter a median. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

typedef double (*field_fn)(const zh_run *r);

static int uses_wrk(const zh_options *opt, const zh_run *runs, size_t n) {
  for (size_t i = 0; opt->load && i < n; i++)
    if (runs[i].ok && runs[i].wrk.parsed) return 1;
  return 0;
}

double zh_run_metric(const zh_options *opt, const zh_run *r) {
  if (opt->load) return r->wrk.parsed ? r->wrk.requests_per_sec : r->load_wall_s;
  return r->wall_s;
}

int zh_run_higher_is_better(const zh_options *opt, const zh_run *runs, size_t n) {
  return uses_wrk(opt, runs, n);
}

const char *zh_run_metric_name(const zh_options *opt, const zh_run *runs, size_t n) {
  if (uses_wrk(opt, runs, n)) return "wrk requests/s";
  return opt->load ? "the load command's wall time" : "wall time";
}

static double cpu(const zh_run *r) { return r->user_s + r->sys_s; }
static double rss_mib(const zh_run *r) { return (double)r->max_rss_kb / 1024; }
static double voluntary(const zh_run *r) { return (double)r->nvcsw; }
static double involuntary(const zh_run *r) { return (double)r->nivcsw; }
static double latency_avg_ms(const zh_run *r) { return r->wrk.latency_avg_us / 1e3; }
static double latency_max_ms(const zh_run *r) { return r->wrk.latency_max_us / 1e3; }
static double socket_errors(const zh_run *r) { return r->wrk.socket_errors + r->wrk.non_2xx; }
static double cpu_us_per_request(const zh_run *r) {
  return r->wrk.requests > 0 ? cpu(r) * 1e6 / r->wrk.requests : NAN;
}

/* The ok runs of `backend`: their `field` (or the metric, field NULL) in v. */
static size_t values(const zh_options *opt, const zh_run *runs, size_t n, const char *backend,
                     field_fn field, double *v) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (runs[i].ok && strcmp(runs[i].backend, backend) == 0)
      v[k++] = field ? field(&runs[i]) : zh_run_metric(opt, &runs[i]);
  return k;
}

static double median_field(const zh_options *opt, const zh_run *runs, size_t n, const char *b,
                           field_fn field) {
  double v[ZH_MAX_REPS];
  size_t k = values(opt, runs, n, b, field, v);
  return k ? zh_median(v, k) : NAN;
}

/* Per backend: the metric's median/min/max and the ratio to the baseline. */
typedef struct summary {
  size_t ok, failed;
  double median, min, max;
  zh_ratio_ci ratio;
} summary;

static summary summarize(const zh_options *opt, const zh_run *runs, size_t n, const char *b) {
  double v[ZH_MAX_REPS] = {0}, base[ZH_MAX_REPS] = {0};
  summary s = {0};
  s.ok = values(opt, runs, n, b, NULL, v);
  for (size_t i = 0; i < n; i++) s.failed += !runs[i].ok && strcmp(runs[i].backend, b) == 0;
  size_t nb = values(opt, runs, n, opt->backends[0], NULL, base);
  s.ratio = zh_ratio_of_medians(v, s.ok, base, nb);
  s.median = s.min = s.max = NAN;
  if (s.ok) {
    s.median = zh_median(v, s.ok); /* sorted: min and max at the ends */
    s.min = v[0], s.max = v[s.ok - 1];
  }
  return s;
}

static void ratio_cell(const zh_options *opt, const char *b, const summary *s, char *buf, size_t size) {
  if (strcmp(b, opt->backends[0]) == 0) snprintf(buf, size, "baseline");
  else if (isnan(s->ratio.ratio)) snprintf(buf, size, "-");
  else if (!s->ratio.valid) snprintf(buf, size, "%.3f (too few runs for a CI)", s->ratio.ratio);
  else snprintf(buf, size, "%s%.3f [%.3f, %.3f]%s", s->ratio.significant ? "**" : "",
                s->ratio.ratio, s->ratio.low, s->ratio.high,
                s->ratio.significant ? "**" : " n.s.");
}

static void print_intro(const zh_options *opt, const zh_run *runs, size_t n) {
  char machine[1024];
  zh_machine(machine, sizeof machine);
  printf("## zyntax-bench run\n\n%s\n\n`", machine);
  for (char **a = opt->program; *a; a++) printf("%s%s", a == opt->program ? "" : " ", *a);
  printf("`%s%s%s: %u repetitions after %u warm-up, the backends interleaved in each "
         "(order rotated)%s%s.\n\n", opt->load ? " under `" : "", opt->load ? opt->load : "",
         opt->load ? "`" : "", opt->reps, opt->warmup, opt->workers ? ", ZYNTAX_WORKER_THREADS=" : "",
         opt->workers ? opt->workers : "");
  printf("Compared by %s (%s is better): median (min-max) over the runs that succeeded. "
         "Ratio = median of the backend / median of %s, with a 95%% confidence interval from a "
         "percentile bootstrap of the ratio of medians (%d resamples, fixed seed); bold = "
         "significant, n.s. = the interval contains 1.\n\n",
         zh_run_metric_name(opt, runs, n), zh_run_higher_is_better(opt, runs, n) ? "higher" : "lower",
         opt->backends[0], ZH_BOOTSTRAP_RESAMPLES);
}

static void print_row(const zh_options *opt, const zh_run *runs, size_t n, const char *b, int wrk) {
  summary s = summarize(opt, runs, n, b);
  char r[96];
  ratio_cell(opt, b, &s, r, sizeof r);
  double scale = wrk ? 1 : 1e3; /* requests/s, or ms */
  printf("| %s | %zu/%zu | ", b, s.ok, s.ok + s.failed);
  printf(wrk ? "%.0f (%.0f-%.0f)" : "%.1f (%.1f-%.1f)", s.median * scale, s.min * scale,
         s.max * scale);
  if (wrk)
    printf(" | %.2f | %.2f | %.0f | %.1f", median_field(opt, runs, n, b, latency_avg_ms),
           median_field(opt, runs, n, b, latency_max_ms), median_field(opt, runs, n, b, socket_errors),
           median_field(opt, runs, n, b, cpu_us_per_request));
  printf(" | %.1f | %.1f | %.0f / %.0f | %s |\n", median_field(opt, runs, n, b, cpu) * 1e3,
         median_field(opt, runs, n, b, rss_mib), median_field(opt, runs, n, b, voluntary),
         median_field(opt, runs, n, b, involuntary), r);
}

void zh_run_markdown(const zh_options *opt, const zh_run *runs, size_t n) {
  int wrk = uses_wrk(opt, runs, n);
  print_intro(opt, runs, n);
  printf("| backend | ok runs | %s |%s CPU ms | max RSS MiB | context switches vol / invol | "
         "ratio [95%% CI] |\n| --- | ---: | ---: |%s ---: | ---: | ---: | ---: |\n",
         wrk ? "requests/s" : opt->load ? "load wall ms" : "wall ms",
         wrk ? " latency avg ms | latency max ms | socket errors + non-2xx | CPU us/request |" : "",
         wrk ? " ---: | ---: | ---: | ---: |" : "");
  for (size_t b = 0; b < opt->backend_count; b++) print_row(opt, runs, n, opt->backends[b], wrk);
  if (wrk) printf("\nCPU, RSS and context switches are the server's (wait4), over its whole run.\n");
  for (size_t i = 0; i < n; i++)
    if (!runs[i].ok)
      printf("%sFAILED: repetition %u, %s: %s\n", i && !runs[i - 1].ok ? "" : "\n", runs[i].rep + 1,
             runs[i].backend, runs[i].status);
  fflush(stdout);
}

static void json_wrk(FILE *f, const zh_wrk *w) {
  if (!w->parsed) return (void)fprintf(f, "null");
  fprintf(f, "{\"requests_per_sec\": %.2f, \"requests\": %.0f, \"latency_avg_us\": %.2f, "
             "\"latency_stdev_us\": %.2f, \"latency_max_us\": %.2f, \"socket_errors\": %.0f, "
             "\"non_2xx\": %.0f}", w->requests_per_sec, w->requests, w->latency_avg_us,
          w->latency_stdev_us, w->latency_max_us, w->socket_errors, w->non_2xx);
}

/* --stats: the lines libzyntax wrote (each a JSON object) as an array;
 * null without --stats. */
static void json_stats(FILE *f, const char *lines) {
  if (lines == NULL) return (void)fprintf(f, "null");
  fputc('[', f);
  int first = 1;
  for (const char *p = lines; *p;) {
    size_t len = strcspn(p, "\n");
    if (len) fprintf(f, "%s%.*s", first ? "" : ", ", (int)len, p), first = 0;
    p += len + (p[len] == '\n');
  }
  fputc(']', f);
}

static void json_run(FILE *f, const zh_run *r) {
  fprintf(f, "    {\"rep\": %u, \"position\": %u, \"backend\": \"%s\", \"ok\": %s, \"status\": ", r->rep,
          r->position, r->backend, r->ok ? "true" : "false");
  zh_json_string(f, r->status);
  fprintf(f, ", \"wall_s\": %.6f, \"user_s\": %.6f, \"sys_s\": %.6f, \"max_rss_kb\": %ld, "
             "\"voluntary_csw\": %ld, \"involuntary_csw\": %ld, \"port\": %d, \"load_wall_s\": %.6f, "
             "\"wrk\": ", r->wall_s, r->user_s, r->sys_s, r->max_rss_kb, r->nvcsw, r->nivcsw, r->port,
          r->load_wall_s);
  json_wrk(f, &r->wrk);
  fprintf(f, ", \"load_stdout\": ");
  r->load_output ? zh_json_string(f, r->load_output) : (void)fprintf(f, "null");
  fprintf(f, ", \"zyntax_stats\": ");
  json_stats(f, r->zyntax_stats);
  fprintf(f, "}");
}

static void json_summary(FILE *f, const zh_options *opt, const zh_run *runs, size_t n, const char *b) {
  summary s = summarize(opt, runs, n, b);
  if (strcmp(b, opt->backends[0]) == 0) s.ratio.valid = 0; /* the baseline: no interval */
  fprintf(f, "    {\"backend\": \"%s\", \"ok\": %zu, \"failed\": %zu, \"median\": ", b, s.ok, s.failed);
  zh_json_number(f, s.median);
  fprintf(f, ", \"min\": ");
  zh_json_number(f, s.min);
  fprintf(f, ", \"max\": ");
  zh_json_number(f, s.max);
  fprintf(f, ", \"ratio\": ");
  zh_json_number(f, s.ratio.ratio);
  fprintf(f, ", \"ci95_low\": ");
  zh_json_number(f, s.ratio.valid ? s.ratio.low : NAN);
  fprintf(f, ", \"ci95_high\": ");
  zh_json_number(f, s.ratio.valid ? s.ratio.high : NAN);
  fprintf(f, ", \"significant\": %s}", s.ratio.valid && s.ratio.significant ? "true" : "false");
}

int zh_run_json(const zh_options *opt, const zh_run *runs, size_t n) {
  FILE *f = zh_json_open(opt->json_path);
  if (f == NULL) return -1;
  fprintf(f, ",\n  \"program\": [");
  for (char **a = opt->program; *a; a++) fprintf(f, "%s", a == opt->program ? "" : ", "), zh_json_string(f, *a);
  fprintf(f, "],\n  \"load\": ");
  opt->load ? zh_json_string(f, opt->load) : (void)fprintf(f, "null");
  fprintf(f, ",\n  \"reps\": %u,\n  \"warmup\": %u,\n  \"baseline\": \"%s\",\n  \"metric\": ",
          opt->reps, opt->warmup, opt->backends[0]);
  zh_json_string(f, zh_run_metric_name(opt, runs, n));
  fprintf(f, ",\n  \"higher_is_better\": %s,\n  \"ci_method\": \"percentile bootstrap of the ratio "
             "of medians, %d resamples, fixed seed\",\n  \"summary\": [\n",
          zh_run_higher_is_better(opt, runs, n) ? "true" : "false", ZH_BOOTSTRAP_RESAMPLES);
  for (size_t b = 0; b < opt->backend_count; b++)
    json_summary(f, opt, runs, n, opt->backends[b]), fprintf(f, b + 1 < opt->backend_count ? ",\n" : "\n");
  fprintf(f, "  ],\n  \"runs\": [\n");
  for (size_t i = 0; i < n; i++) json_run(f, &runs[i]), fprintf(f, i + 1 < n ? ",\n" : "\n");
  fprintf(f, "  ]\n}\n");
  return fclose(f) == 0 ? 0 : -1;
}

int zh_run_svg(const zh_options *opt, const zh_run *runs, size_t n) {
  double value[ZH_RUN_MAX_BACKENDS], low[ZH_RUN_MAX_BACKENDS], high[ZH_RUN_MAX_BACKENDS];
  size_t count = opt->backend_count < ZH_RUN_MAX_BACKENDS ? opt->backend_count : ZH_RUN_MAX_BACKENDS;
  for (size_t b = 0; b < count; b++) {
    summary s = summarize(opt, runs, n, opt->backends[b]);
    value[b] = isnan(s.ratio.ratio) ? -1 : s.ratio.ratio;
    low[b] = s.ratio.valid ? s.ratio.low : NAN;
    high[b] = s.ratio.valid ? s.ratio.high : NAN;
  }
  char title[256];
  snprintf(title, sizeof title, "zyntax-bench run: %s / %s (%s is better), 95%% bootstrap CI",
           zh_run_metric_name(opt, runs, n), opt->backends[0],
           zh_run_higher_is_better(opt, runs, n) ? "higher" : "lower");
  const char *group[ZH_RUN_MAX_BACKENDS];
  for (size_t b = 0; b < count; b++) group[b] = opt->backends[b];
  const char *legend[] = {"ratio to the baseline"};
  zh_chart chart = {title, count, 1, group, legend, value, low, high, 1.0};
  return zh_svg_chart(opt->svg_path, &chart);
}
