/* Poll timing for ZYNTAX_STATS and ZYNTAX_SLOW_POLL_US (libzyntax reads
 * them at create into the host struct). While both are unset the executor
 * has no zx_poll_timing and a poll costs one predictable branch more
 * (zx_poll_call); while either is set, a poll also costs two
 * clock_gettime(CLOCK_MONOTONIC) calls (vDSO) and a counter, and a slow
 * one a call into libzyntax's report. */
#ifndef ZYNTAX_COMMON_POLL_TIMING_H
#define ZYNTAX_COMMON_POLL_TIMING_H

#include "executor.h"

struct zx_poll_timing {
  zyntax_runtime *owner;
  uint64_t slow_ns; /* 0: no limit */
  void (*report)(zyntax_runtime *rt, zyntax_poll_fn poll, const void *task,
                 uint64_t ns);
  /* Written by the driving thread only, read by stats from any thread. */
  zx_counter slow_polls;
  zx_counter buckets[ZYNTAX_STATS_POLL_BUCKETS];
};

/* *out: a new zx_poll_timing when `host` asks for timing, else NULL.
 * Returns 0 or ZYNTAX_ENOMEM. zx_poll_timing_free(NULL) does nothing. */
int zx_poll_timing_new(const zyntax_backend_host *host, zx_poll_timing **out);
void zx_poll_timing_free(zx_poll_timing *pt);

/* Adds the timing's counters to `all` (slow_polls, poll_ns_log2). */
void zx_poll_timing_stats(const zx_poll_timing *pt, zyntax_stats *all);

/* One timed call of poll(state, waker) for `task`. Driving thread. */
zyntax_poll zx_poll_timed(zx_poll_timing *pt, zyntax_poll_fn poll, void *state,
                          const zyntax_waker *waker, const void *task);

/* The executor's one poll call site: timed only when `pt` exists. */
static inline zyntax_poll zx_poll_call(zx_poll_timing *pt, zyntax_poll_fn poll,
                                       void *state, const zyntax_waker *waker,
                                       const void *task) {
  if (__builtin_expect(pt == NULL, 1)) return poll(state, waker);
  return zx_poll_timed(pt, poll, state, waker, task);
}

#endif /* ZYNTAX_COMMON_POLL_TIMING_H */
