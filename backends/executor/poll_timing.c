/* Poll timing (poll_timing.h): the histogram, the slow-poll count and the
 * hand-off of a slow poll to libzyntax's report. */
#include <stdlib.h>

#include "poll_timing.h"
#include "sized.h"
#include "sleep.h"

int zx_poll_timing_new(const zyntax_backend_host *host, zx_poll_timing **out) {
  *out = NULL;
  /* An older libzyntax passes a shorter host: no timing. */
  if (host->size < ZYNTAX_BACKEND_HOST_SIZE_TIMING || !host->time_polls) return 0;
  zx_poll_timing *pt = calloc(1, sizeof *pt);
  if (pt == NULL) return ZYNTAX_ENOMEM;
  pt->owner = host->runtime;
  pt->slow_ns = host->slow_poll_ns;
  pt->report = host->slow_poll;
  *out = pt;
  return 0;
}

void zx_poll_timing_free(zx_poll_timing *pt) { free(pt); }

#define ZX_READ_(c) atomic_load_explicit(&(c).value, memory_order_relaxed)

void zx_poll_timing_stats(const zx_poll_timing *pt, zyntax_stats *all) {
  if (pt == NULL) return;
  all->slow_polls = ZX_READ_(pt->slow_polls);
  for (int k = 0; k < ZYNTAX_STATS_POLL_BUCKETS; k++)
    all->poll_ns_log2[k] = ZX_READ_(pt->buckets[k]);
}

/* Bucket k holds [2^k, 2^(k+1)) ns; 0 ns goes to 0, the rest past the
 * last bucket to the last. */
static int bucket_of(uint64_t ns) {
  int k = ns == 0 ? 0 : 63 - __builtin_clzll(ns);
  return k < ZYNTAX_STATS_POLL_BUCKETS ? k : ZYNTAX_STATS_POLL_BUCKETS - 1;
}

zyntax_poll zx_poll_timed(zx_poll_timing *pt, zyntax_poll_fn poll, void *state,
                          const zyntax_waker *waker, const void *task) {
  uint64_t start = zx_now_ns();
  zyntax_poll r = poll(state, waker);
  uint64_t ns = zx_now_ns() - start;
  zx_count(&pt->buckets[bucket_of(ns)]);
  if (pt->slow_ns != 0 && ns > pt->slow_ns) {
    zx_count(&pt->slow_polls);
    if (pt->report != NULL) pt->report(pt->owner, poll, task, ns);
  }
  return r;
}
