/* ZYNTAX_STATS: one JSON line of a runtime's counters, appended when the
 * runtime is destroyed. The file is opened with O_APPEND for each line and
 * the line goes out in one write(2) of well under PIPE_BUF bytes, so lines
 * of concurrent runtimes and processes sharing the file never mix. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* The longest line: 18 numbers, a 16-digit hex string of up to 20 digits with their keys, 32
 * buckets, and the backend's name and version escaped (64 + 128 chars at
 * most 6 bytes each). */
#define ZX_STATS_LINE_MAX 3072

typedef struct line {
  char buf[ZX_STATS_LINE_MAX];
  size_t len;
} line;

static void put(line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(line *l, const char *fmt, ...) {
  if (l->len >= sizeof l->buf) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(l->buf + l->len, sizeof l->buf - l->len, fmt, ap);
  va_end(ap);
  l->len += n < 0 ? 0 : (size_t)n;
}

/* "key":"text", JSON-escaped (a plugin names its own backend and version). */
static void put_string(line *l, const char *key, const char *text, size_t max) {
  put(l, "\"%s\":\"", key);
  for (size_t i = 0; i < max && text[i] != '\0'; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '"' || c == '\\')
      put(l, "\\%c", c);
    else if (c < 0x20)
      put(l, "\\u%04x", c);
    else
      put(l, "%c", c);
  }
  put(l, "\",");
}

static void put_number(line *l, const char *key, uint64_t value) {
  put(l, "\"%s\":%llu,", key, (unsigned long long)value);
}

static void format_line(line *l, const zyntax_runtime *rt, const zyntax_stats *s) {
  put(l, "{\"pid\":%ld,", (long)getpid());
  put_string(l, "backend", rt->backend->name, 64);
  put_string(l, "version", rt->backend->version, 128);
  put_number(l, "spawned", s->tasks_spawned);
  put_number(l, "completed", s->tasks_completed);
  put_number(l, "cancelled", s->tasks_cancelled);
  put_number(l, "failed", s->tasks_failed);
  put_number(l, "polls", s->polls);
  put_number(l, "wakes_local", s->wakes - s->wakes_remote);
  put_number(l, "wakes_remote", s->wakes_remote);
  put_number(l, "timers", s->timers);
  put_number(l, "fd_waits", s->io_waits);
  put_number(l, "blocking_jobs", s->blocking_jobs);
  put_number(l, "peak_live_tasks", s->peak_live_tasks);
  put_number(l, "slow_polls", s->slow_polls);
  put_number(l, "slow_poll_us", rt->host.slow_poll_ns / 1000u);
  put_number(l, "sim_seed", s->sim_seed);
  put(l, "\"sim_trace\":\"%016llx\",", (unsigned long long)s->sim_trace);
  put(l, "\"poll_ns_log2\":[");
  for (int k = 0; k < ZYNTAX_STATS_POLL_BUCKETS; k++)
    put(l, k ? ",%llu" : "%llu", (unsigned long long)s->poll_ns_log2[k]);
  put(l, "]}\n");
}

/* The whole line in one write(2): O_APPEND makes it land at the end as a
 * unit. 0 or errno. */
static int append(const char *file, const line *l) {
  int to_stderr = strcmp(file, "-") == 0;
  int fd = to_stderr ? STDERR_FILENO
                     : open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return errno;
  ssize_t n = write(fd, l->buf, l->len);
  int rc = n == (ssize_t)l->len ? 0 : n < 0 ? errno : EIO;
  if (!to_stderr) close(fd);
  return rc;
}

void zx_stats_export(zyntax_runtime *rt) {
  if (rt->stats_file == NULL) return;
  zyntax_stats s;
  memset(&s, 0, sizeof s);
  s.size = sizeof s;
  rt->backend->stats(rt->impl, &s);
  line l;
  l.len = 0;
  format_line(&l, rt, &s);
  int rc = l.len < sizeof l.buf ? append(rt->stats_file, &l) : ENOBUFS;
  if (rc != 0)
    zx_log("ZYNTAX_STATS: cannot append to '%s': %s", rt->stats_file, strerror(rc));
  free(rt->stats_file);
  rt->stats_file = NULL;
}
