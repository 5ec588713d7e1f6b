/* Poll timing, libzyntax's side: ZYNTAX_STATS and ZYNTAX_SLOW_POLL_US are
 * read once per runtime, at create, into the host struct the backend gets
 * (time_polls, slow_poll_ns), so a backend pays one predictable branch per
 * poll while both are unset. The backend times its polls and calls
 * slow_poll() below for each one over the limit; the report is written
 * here, once for every backend. */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "symname.h"

/* The rate limit, for the whole process: a token bucket of ZX_SLOW_BURST
 * lines refilled at ZX_SLOW_PER_SEC lines a second, kept as one atomic
 * "theoretical arrival time" (GCRA: a line may go out while that time is
 * at most BURST - 1 line costs ahead of now), so reporting threads never
 * wait on each other and a forked child cannot inherit a held lock. A line
 * that does not fit is counted, and the next line written says how many
 * were not. A slow poll is in the stats either way (the backend counts it). */
#define ZX_SLOW_PER_SEC 5u
#define ZX_SLOW_BURST 5u
#define ZX_NS_PER_SEC 1000000000ull
#define ZX_SLOW_COST_NS (ZX_NS_PER_SEC / ZX_SLOW_PER_SEC)

static _Atomic uint64_t slow_tat;        /* when the bucket is full again */
static _Atomic uint64_t slow_suppressed; /* lines not written since the last */

static uint64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * ZX_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Nonzero when a line may be written now; *skipped gets the lines that
 * were not since the last one written (then reset). */
static int take_token(uint64_t *skipped) {
  uint64_t now = monotonic_ns();
  uint64_t tat = atomic_load_explicit(&slow_tat, memory_order_relaxed);
  for (;;) {
    uint64_t from = tat > now ? tat : now;
    if (from - now > (uint64_t)(ZX_SLOW_BURST - 1) * ZX_SLOW_COST_NS) {
      atomic_fetch_add_explicit(&slow_suppressed, 1, memory_order_relaxed);
      return 0;
    }
    if (atomic_compare_exchange_weak_explicit(&slow_tat, &tat, from + ZX_SLOW_COST_NS,
                                              memory_order_relaxed, memory_order_relaxed))
      break;
  }
  *skipped = atomic_exchange_explicit(&slow_suppressed, 0, memory_order_relaxed);
  return 1;
}

/* The host's slow_poll: one "zyntax: " line on stderr, in one write(2) so
 * lines from several threads or processes never mix. */
static void slow_poll(zyntax_runtime *rt, zyntax_poll_fn poll, const void *task,
                      uint64_t ns) {
  uint64_t skipped;
  if (!take_token(&skipped)) return;
  char name[512], line[1024];
  zx_symbol_name(poll, name, sizeof name);
  int n = snprintf(line, sizeof line,
                   "zyntax: slow poll: %llu us (limit %llu us) in poll function "
                   "%s, task %p, backend '%s' (%s)",
                   (unsigned long long)(ns / 1000u),
                   (unsigned long long)(rt->host.slow_poll_ns / 1000u), name, task,
                   rt->backend->name, rt->backend->version);
  if (n < 0) return;
  size_t len = (size_t)n < sizeof line - 1 ? (size_t)n : sizeof line - 2;
  if (skipped)
    len += (size_t)snprintf(line + len, sizeof line - len,
                            "; %llu more not shown (rate limit %u lines/s)",
                            (unsigned long long)skipped, ZX_SLOW_PER_SEC);
  if (len > sizeof line - 2) len = sizeof line - 2;
  line[len++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, len);
  (void)w; /* a diagnostic: nothing to do when stderr is gone */
}

int zx_pollwatch_setup(zyntax_runtime *rt) {
  uint64_t slow_ns;
  if (zx_env_slow_poll_ns(&slow_ns) != 0) return ZYNTAX_EINVAL;
  const char *file = zx_env_stats_file();
  if (file != NULL && (rt->stats_file = strdup(file)) == NULL)
    return zx_fail(NULL, ZYNTAX_ENOMEM, "out of memory copying ZYNTAX_STATS");
  rt->host.time_polls = file != NULL || slow_ns != 0;
  rt->host.slow_poll_ns = slow_ns;
  rt->host.slow_poll = slow_poll;
  return 0;
}
