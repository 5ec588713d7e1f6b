/* Per-series summaries: median, min, max of ns per operation. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

int zh_uses_cpu_time(const char *workload) { return strcmp(workload, "timers") == 0; }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double zh_median(double *v, size_t n) {
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
  out->median = zh_median(per_op, s->count); /* sorts: min/max at the ends */
  out->min = per_op[0];
  out->max = per_op[s->count - 1];
  out->p50 = zh_median(p50, s->count);
  out->p99 = zh_median(p99, s->count);
  out->ops_per_sec = zh_median(rate, s->count);
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

/* xorshift64*: a fixed, portable sequence (rand() differs between libcs). */
static uint64_t next_random(uint64_t *x) {
  *x ^= *x >> 12;
  *x ^= *x << 25;
  *x ^= *x >> 27;
  return *x * 0x2545F4914F6CDD1DULL;
}

/* The median of n values drawn with replacement from v[0..n). */
static double resampled_median(const double *v, size_t n, double *scratch, uint64_t *seed) {
  for (size_t i = 0; i < n; i++) scratch[i] = v[next_random(seed) % n];
  return zh_median(scratch, n);
}

zh_ratio_ci zh_ratio_of_medians(const double *a, size_t na, const double *b, size_t nb) {
  zh_ratio_ci out = {NAN, NAN, NAN, 0, 0};
  double *scratch = malloc(sizeof(double) * (na > nb ? na : nb));
  double *ratios = malloc(sizeof(double) * ZH_BOOTSTRAP_RESAMPLES);
  if (na > 0 && nb > 0 && scratch && ratios) {
    memcpy(scratch, a, na * sizeof *a);
    double ma = zh_median(scratch, na);
    memcpy(scratch, b, nb * sizeof *b);
    double mb = zh_median(scratch, nb);
    out.ratio = mb != 0 ? ma / mb : NAN;
  }
  if (na >= 3 && nb >= 3 && scratch && ratios && !isnan(out.ratio)) {
    uint64_t seed = 0x5A594E544158ULL; /* fixed: reruns give the same interval */
    for (size_t i = 0; i < ZH_BOOTSTRAP_RESAMPLES; i++) {
      double ra = resampled_median(a, na, scratch, &seed);
      double rb = resampled_median(b, nb, scratch, &seed);
      ratios[i] = rb != 0 ? ra / rb : INFINITY;
    }
    qsort(ratios, ZH_BOOTSTRAP_RESAMPLES, sizeof *ratios, cmp_double);
    out.low = ratios[ZH_BOOTSTRAP_RESAMPLES / 40]; /* 2.5th percentile */
    out.high = ratios[ZH_BOOTSTRAP_RESAMPLES - 1 - ZH_BOOTSTRAP_RESAMPLES / 40];
    out.valid = 1;
    out.significant = out.low > 1.0 || out.high < 1.0;
  }
  free(scratch);
  free(ratios);
  return out;
}
