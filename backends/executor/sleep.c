/* Sleep futures: never complete before the deadline, whatever the backend
 * timer's granularity or clock caching - the wheel files a sleep at its
 * deadline rounded up to the millisecond, and every poll re-checks the
 * clock. */
#include <stdalign.h>
#include <time.h>

#include "leaf.h"
#include "sleep.h"
#include "wheel.h"

#define NS_PER_MS 1000000u

typedef struct zx_sleep {
  zyntax_future base; /* first */
  zx_exec *ex;
  uint64_t deadline; /* CLOCK_MONOTONIC ns */
  zyntax_waker waker;
  zx_wheel_node node;
  uint8_t cls;   /* the arena class */
  uint8_t armed; /* filed at least once (counted in the stats) */
} zx_sleep;


uint64_t zx_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static zx_sleep *sleep_of(zx_wheel_node *n) {
  return (zx_sleep *)((char *)n - offsetof(zx_sleep, node));
}

/* The wheel turned past the node's tick: wake the task (it re-checks). */
void zx_sleep_fire(zx_wheel_node *n, void *arg) {
  (void)arg;
  zyntax_waker_wake(&sleep_of(n)->waker);
}

static zyntax_poll sleep_poll(zyntax_future *f, const zyntax_waker *waker) {
  zx_sleep *s = (zx_sleep *)f;
  /* Destroyed or being destroyed (a drop inside destroy, or a poll after
   * it from anywhere): ECLOSED, before the foreign check. */
  if (zx_leaf_refuse(f, s->ex)) return ZYNTAX_READY;
  /* The time of the last loop turn is never ahead of the clock: when it
   * says the deadline passed (a sleep the wheel fired), it did. */
  uint64_t now = s->ex->turn_ns;
  if (now < s->deadline) now = zx_exec_now(s->ex);
  if (now >= s->deadline) {
    f->result = 0;
    return ZYNTAX_READY;
  }
  zyntax_waker_store(&s->waker, waker);
  if (!s->node.linked) {
    if (!s->armed) zx_count(&s->ex->stats.timers);
    s->armed = 1;
    zx_exec_timer_insert(s->ex, &s->node,
                         (s->deadline + NS_PER_MS - 1) / NS_PER_MS, now);
  }
  return ZYNTAX_PENDING;
}

static void sleep_drop(zyntax_future *f) {
  zx_sleep *s = (zx_sleep *)f;
  zx_exec *ex = s->ex;
  /* After destroy the node is unlinked already: no wheel, no loop. */
  if (s->node.linked) zx_exec_timer_remove(ex, &s->node);
  zyntax_waker_drop(&s->waker);
  zx_exec_free(ex, s, s->cls);
}

const zyntax_future_ops zyntax_executor_sleep_ops = ZYNTAX_FUTURE_OPS_INIT(sleep_poll, sleep_drop);

int zx_sleep_until(zyntax_backend_runtime *rt, uint64_t deadline_ns,
                   zyntax_future **out) {
  zx_exec *ex = (zx_exec *)rt;
  if (zx_exec_closed(ex)) return ZYNTAX_ECLOSED;
  uint8_t cls = zx_arena_class(sizeof(zx_sleep), alignof(zx_sleep));
  zx_sleep *s = zx_exec_alloc(ex, cls, sizeof *s, alignof(zx_sleep));
  if (s == NULL) return ZYNTAX_ENOMEM;
  *s = (zx_sleep){.base = {&zyntax_executor_sleep_ops, ZYNTAX_NOT_FINISHED},
                  .ex = ex,
                  .deadline = deadline_ns,
                  .waker = ZYNTAX_WAKER_EMPTY,
                  .cls = cls};
  *out = &s->base;
  return 0;
}
