/* Environment access: every variable goes through secure_getenv so a
 * setuid/setgid process cannot be steered by its caller's environment. */
#define _GNU_SOURCE
#include <stdlib.h>

#include "internal.h"

const char *zx_getenv(const char *name) { return secure_getenv(name); }

const char *zx_env_stats_file(void) {
  const char *s = zx_getenv("ZYNTAX_STATS");
  return s != NULL && *s != '\0' ? s : NULL;
}

/* An hour: a longer poll is a hang, not a slow poll. */
#define ZX_SLOW_POLL_US_MAX 3600000000ull

int zx_env_slow_poll_ns(uint64_t *ns) {
  *ns = 0;
  const char *s = zx_getenv("ZYNTAX_SLOW_POLL_US");
  if (s == NULL || *s == '\0') return 0;
  char *end;
  unsigned long long us = strtoull(s, &end, 10);
  if (*end != '\0' || *s < '0' || *s > '9' || us == 0 || us > ZX_SLOW_POLL_US_MAX)
    return zx_fail(NULL, ZYNTAX_EINVAL,
                   "ZYNTAX_SLOW_POLL_US='%.32s' is not a number of "
                   "microseconds from 1 to %llu",
                   s, ZX_SLOW_POLL_US_MAX);
  *ns = (uint64_t)us * 1000u;
  return 0;
}
