/* One hour of sleeps (60 of a minute each, in one task, beside an
 * interval ticking every 10 s in another) on the simulation's virtual
 * clock: asserts that an hour passed on zyntax_now() - and not much more -
 * and reports the wall time it took (never asserted: tests do not depend
 * on speed). Run with ZYNTAX_RUNTIME=sim; elsewhere it takes an hour. */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <zyntax/runtime.h>
#include <zyntax/stream.h>

#define MINUTE 60000000000ull
#define HOUR (60 * MINUTE)

typedef struct sleeper {
  zyntax_future *f;
  int done;
} sleeper;

static zyntax_poll sleeper_poll(void *state, const zyntax_waker *waker) {
  sleeper *s = state;
  while (s->done < 60) {
    if (s->f == NULL && zyntax_sleep_future(zyntax_runtime_current(), MINUTE, &s->f) != 0)
      return ZYNTAX_READY;
    int rc;
    if (zyntax_future_poll(s->f, waker, &rc) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
    zyntax_future_drop(s->f);
    s->f = NULL;
    s->done++;
  }
  return ZYNTAX_READY;
}

typedef struct ticker {
  zyntax_stream *s;
  int ticks;
} ticker;

static zyntax_poll ticker_poll(void *state, const zyntax_waker *waker) {
  ticker *t = state;
  uint64_t at;
  int rc;
  while (t->ticks < 360) {
    zyntax_stream_poll p = zyntax_stream_poll_next(t->s, waker, &at, &rc);
    if (p == ZYNTAX_STREAM_PENDING) return ZYNTAX_PENDING;
    if (p != ZYNTAX_STREAM_ITEM) return ZYNTAX_READY;
    t->ticks++;
  }
  return ZYNTAX_READY;
}

static uint64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(void) {
  zyntax_runtime *rt = zyntax_runtime_create();
  if (rt == NULL) {
    fprintf(stderr, "hour: %s\n", zyntax_last_error()->message);
    return 2;
  }
  uint64_t wall0 = wall_ns(), v0 = zyntax_now();
  sleeper s = {NULL, 0};
  ticker t = {NULL, 0};
  if (zyntax_interval_stream(rt, 10 * 1000000000ull, &t.s) != 0) return 2;
  zyntax_task_drop(zyntax_runtime_spawn(rt, &s, sleeper_poll));
  zyntax_task_drop(zyntax_runtime_spawn(rt, &t, ticker_poll));
  int rc = zyntax_runtime_run(rt);
  uint64_t elapsed = zyntax_now() - v0, wall = wall_ns() - wall0;
  zyntax_stream_drop(t.s);
  zyntax_runtime_destroy(rt);
  printf("%s: %d sleeps of a minute, %d ticks of 10 s: %" PRIu64
         " ns on zyntax_now() (%.6f h), %.1f ms of wall time\n",
         "hour", s.done, t.ticks, elapsed,
         (double)elapsed / (double)HOUR, (double)wall / 1e6);
  /* An hour, rounded up to the timer's millisecond, plus 100 ns per clock
   * read: far less than a second more. */
  int ok = rc == 0 && s.done == 60 && t.ticks == 360 && elapsed >= HOUR &&
           elapsed < HOUR + 1000000000ull;
  return ok ? 0 : 1;
}
