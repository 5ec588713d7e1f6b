/* Sleep futures: never complete before the deadline, whatever the backend's
 * timer granularity or clock caching. */
#include <time.h>

#include "leaf.h"
#include "sleep.h"

#define NS_PER_MS 1000000u

uint64_t zx_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void zx_sleep_init(zx_sleep *s, zx_exec *ex, const zx_timer_ops *timer,
                   uint64_t deadline_ns) {
  s->base = (zyntax_future){&zx_sleep_ops, ZYNTAX_TASK_RUNNING};
  s->ex = ex;
  s->timer = timer;
  s->deadline = deadline_ns;
  s->waker = (zyntax_waker)ZYNTAX_WAKER_EMPTY;
  s->armed = 0;
  s->pending = 0;
  zx_leaf_hold(ex);
}

void zx_sleep_fired(zx_sleep *s) {
  s->pending = 0;
  zyntax_waker_wake(&s->waker);
}

static zyntax_poll sleep_poll(zyntax_future *f, const zyntax_waker *waker) {
  zx_sleep *s = (zx_sleep *)f;
  if (zx_leaf_refuse(f, s->ex)) return ZYNTAX_READY;
  uint64_t now = zx_now_ns();
  if (now >= s->deadline) {
    f->result = 0;
    return ZYNTAX_READY;
  }
  zyntax_waker_store(&s->waker, waker);
  if (!s->pending) {
    if (!s->armed) zx_count(&s->ex->stats.timers);
    /* Round up: a timer of whole milliseconds never fires before the
     * deadline measured from now. */
    s->timer->arm(s, (s->deadline - now + NS_PER_MS - 1) / NS_PER_MS);
    s->armed = 1;
    s->pending = 1;
  }
  return ZYNTAX_PENDING;
}

static void sleep_drop(zyntax_future *f) {
  zx_sleep *s = (zx_sleep *)f;
  zx_exec *ex = s->ex;
  zyntax_waker_drop(&s->waker);
  s->timer->release(s);
  zx_exec_unref(ex); /* maybe the last: after destroy */
}

const zyntax_future_ops zx_sleep_ops = {sleep_poll, sleep_drop};
