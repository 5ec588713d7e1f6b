/* The simulation's settings, from the environment (docs/simulation.md
 * lists them), and where its report lines go. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "sim.h"

/* A percentage 0..100 (unset or empty: 0). */
static int read_percent(const char *name, unsigned *out, zyntax_error *err) {
  const char *s = secure_getenv(name);
  *out = 0;
  if (s == NULL || *s == '\0') return 0;
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno != 0 || *end != '\0' || v > 100) {
    snprintf(err->message, sizeof err->message,
             "%s='%.32s' is not a percentage from 0 to 100", name, s);
    return ZYNTAX_EINVAL;
  }
  *out = (unsigned)v;
  return 0;
}

/* One random seed per process, chosen (and printed) at the first runtime
 * that needs it, so every runtime of the process reports the same. */
static pthread_once_t random_once = PTHREAD_ONCE_INIT;
static uint64_t random_seed;

static void choose_random_seed(void) {
  uint64_t v = 0;
  if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
    v = zx_now_ns() ^ ((uint64_t)getpid() << 32);
  /* Short enough to type back in: 0 .. 2^32-1. */
  random_seed = v & 0xffffffffu;
  fprintf(stderr,
          "zyntax-sim: seed=%" PRIu64 " (chosen at random; ZYNTAX_SIM_SEED=%" PRIu64
          " replays this run)\n",
          random_seed, random_seed);
}

static int read_seed(sim_config *cfg, zyntax_error *err) {
  const char *s = secure_getenv("ZYNTAX_SIM_SEED");
  if (s == NULL || *s == '\0') {
    pthread_once(&random_once, choose_random_seed);
    cfg->seed = random_seed;
    cfg->seed_random = 1;
    return 0;
  }
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno != 0 || *end != '\0' || s[0] == '-') {
    snprintf(err->message, sizeof err->message,
             "ZYNTAX_SIM_SEED='%.32s' is not an unsigned 64-bit number", s);
    return ZYNTAX_EINVAL;
  }
  cfg->seed = (uint64_t)v;
  return 0;
}

static int read_latency(sim_config *cfg, zyntax_error *err) {
  const char *s = secure_getenv("ZYNTAX_SIM_BLOCKING_LATENCY");
  cfg->job_latency_ns = 0;
  if (s == NULL || *s == '\0') return 0;
  char *end;
  errno = 0;
  unsigned long ms = strtoul(s, &end, 10);
  if (errno != 0 || *end != '\0' || ms > 3600000u) {
    snprintf(err->message, sizeof err->message,
             "ZYNTAX_SIM_BLOCKING_LATENCY='%.32s' is not milliseconds from 0 "
             "to 3600000", s);
    return ZYNTAX_EINVAL;
  }
  cfg->job_latency_ns = (uint64_t)ms * 1000000u;
  return 0;
}

int sim_config_read(sim_config *cfg, zyntax_error *err) {
  memset(cfg, 0, sizeof *cfg);
  const char *log = secure_getenv("ZYNTAX_LOG");
  cfg->log = log != NULL && strcmp(log, "1") == 0;
  const char *trace = secure_getenv("ZYNTAX_SIM_TRACE");
  if (trace != NULL && strcmp(trace, "0") != 0)
    snprintf(cfg->trace, sizeof cfg->trace, "%s", trace);
  int rc = read_seed(cfg, err);
  if (rc == 0) rc = read_percent("ZYNTAX_SIM_SPURIOUS_WAKES", &cfg->spurious_wakes, err);
  if (rc == 0) rc = read_percent("ZYNTAX_SIM_DELAY_WAKES", &cfg->delay_wakes, err);
  if (rc == 0) rc = read_percent("ZYNTAX_SIM_REORDER_READY", &cfg->reorder_ready, err);
  if (rc == 0) rc = read_latency(cfg, err);
  return rc;
}

void sim_report(const sim_config *cfg, int to_trace, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  FILE *out = stderr;
  /* A trace path other than "1" receives the trace lines (appended: one
   * per runtime), so a tool reads them without parsing the program's
   * own stderr. */
  if (to_trace && cfg->trace[0] != '\0' && strcmp(cfg->trace, "1") != 0) {
    out = fopen(cfg->trace, "ae");
    if (out == NULL) out = stderr;
  }
  fprintf(out, "zyntax-sim: %s\n", line);
  if (out != stderr) fclose(out);
}
