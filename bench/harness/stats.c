/* Per-series summaries: median, min, max of ns per operation. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

int zh_uses_cpu_time(const char *workload) { return strcmp(workload, "timers") == 0; }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median_of(double *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int zh_summarize(const zh_series *s, zh_summary *out) {
  memset(out, 0, sizeof *out);
  if (s->status != 0 || s->count == 0) return -1;
  double per_op[ZH_MAX_REPS], p50[ZH_MAX_REPS], p99[ZH_MAX_REPS], rate[ZH_MAX_REPS];
  int cpu = zh_uses_cpu_time(s->workload);
  for (size_t i = 0; i < s->count; i++) {
    const zb_sample *x = &s->samples[i];
    per_op[i] = (double)(cpu ? x->cpu_ns : x->wall_ns) / (double)x->ops;
    p50[i] = (double)x->p50_ns;
    p99[i] = (double)x->p99_ns;
    rate[i] = (double)x->ops * 1e9 / (double)(x->wall_ns ? x->wall_ns : 1);
  }
  out->median = median_of(per_op, s->count); /* sorts: min/max at the ends */
  out->min = per_op[0];
  out->max = per_op[s->count - 1];
  out->p50 = median_of(p50, s->count);
  out->p99 = median_of(p99, s->count);
  out->ops_per_sec = median_of(rate, s->count);
  return 0;
}

const zh_series *zh_find(const zh_series *all, size_t n, const char *workload,
                         const char *backend, zh_kind kind) {
  for (size_t i = 0; i < n; i++)
    if (all[i].kind == kind && strcmp(all[i].workload, workload) == 0 &&
        (kind == ZH_DIRECT || strcmp(all[i].backend, backend) == 0))
      return &all[i];
  return NULL;
}
