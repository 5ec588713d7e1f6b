/* Poll timing, libzyntax's side: ZYNTAX_STATS and ZYNTAX_SLOW_POLL_US are
 * read once per runtime, at create, into the host struct the backend gets
 * (time_polls, slow_poll_ns), so a backend pays one predictable branch per
 * poll while both are unset. The backend times its polls and calls
 * slow_poll() below for each one over the limit; the report is written
 * here, once for every backend. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "symname.h"

/* The rate limit: a token bucket of ZX_SLOW_BURST lines, refilled at
 * ZX_SLOW_PER_SEC lines per second, for the whole process. A line that
 * does not fit is counted, and the next line written says how many were
 * not. A slow poll is in the stats either way (the backend counts it). */
#define ZX_SLOW_PER_SEC 5u
#define ZX_SLOW_BURST 5u
#define ZX_NS_PER_SEC 1000000000ull
#define ZX_SLOW_COST_NS (ZX_NS_PER_SEC / ZX_SLOW_PER_SEC)

static struct {
  pthread_mutex_t lock;
  int started;
  uint64_t credit_ns; /* ZX_SLOW_COST_NS per line, up to a burst's worth */
  uint64_t last_ns;
  uint64_t suppressed; /* lines not written since the last one */
} limiter = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0};

static uint64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * ZX_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Nonzero when a line may be written now; *skipped gets the lines that
 * were not since the last one written (then reset). */
static int take_token(uint64_t *skipped) {
  uint64_t now = monotonic_ns(), full = (uint64_t)ZX_SLOW_BURST * ZX_SLOW_COST_NS;
  pthread_mutex_lock(&limiter.lock);
  if (!limiter.started) {
    limiter.started = 1;
    limiter.credit_ns = full;
  } else {
    uint64_t gained = now - limiter.last_ns;
    limiter.credit_ns = gained >= full - limiter.credit_ns ? full : limiter.credit_ns + gained;
  }
  limiter.last_ns = now;
  int ok = limiter.credit_ns >= ZX_SLOW_COST_NS;
  if (ok) {
    limiter.credit_ns -= ZX_SLOW_COST_NS;
    *skipped = limiter.suppressed;
    limiter.suppressed = 0;
  } else {
    limiter.suppressed++;
  }
  pthread_mutex_unlock(&limiter.lock);
  return ok;
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

int zx_pollwatch_setup(zyntax_runtime *rt, zyntax_error *err) {
  uint64_t slow_ns;
  if (zx_env_slow_poll_ns(&slow_ns, err) != 0) return ZYNTAX_EINVAL;
  const char *file = zx_env_stats_file();
  if (file != NULL && (rt->stats_file = strdup(file)) == NULL)
    return zx_fail(err, ZYNTAX_ENOMEM, "out of memory copying ZYNTAX_STATS");
  rt->host.time_polls = file != NULL || slow_ns != 0;
  rt->host.slow_poll_ns = slow_ns;
  rt->host.slow_poll = slow_poll;
  return 0;
}
