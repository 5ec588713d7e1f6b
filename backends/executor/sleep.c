/* Sleep futures: never complete before the deadline, whatever the backend
 * timer's granularity or clock caching - a sleep is due at its deadline
 * rounded up to the millisecond (the wheel's tick), the wheel fires it in
 * the first loop turn whose clock reads that tick, and every poll checks
 * the tick against a clock reading. */
#include <stdalign.h>
#include <time.h>

#include "leaf.h"
#include "sleep.h"
#include "wheel.h"

#define NS_PER_MS 1000000u

/* One cache line, the arena's smallest block: a timer touches one line of
 * its own besides its task's (and a million of them fit 64 MB). */
typedef struct zx_sleep {
  zyntax_future base; /* first */
  zx_exec *ex;
  zyntax_waker waker;
  zx_wheel_node node; /* node.when: the deadline's tick, filed or not */
} zx_sleep;

#define SLEEP_CLASS 0 /* the arena class of ZX_ARENA_MIN_BLOCK */
_Static_assert(sizeof(zx_sleep) <= ZX_ARENA_MIN_BLOCK &&
                   alignof(zx_sleep) <= ZX_ARENA_MIN_BLOCK,
               "a sleep is one smallest arena block");

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

/* Nonzero when the clock has reached the sleep's tick. Both ticks looked
 * at are clock readings, never ahead of the clock: the last loop turn's
 * time, and the wheel's elapsed tick (the clock when the runtime was made,
 * then never past a tick a turn read: wheel.h) - when they say the tick
 * passed, it did, and a sleep the wheel fired needs no clock read. The
 * turn's time is not more than about a pass of polls behind the clock, so
 * the clock is read only for a tick at most one past it: a sleep due
 * later is filed without a read, and should the pass have been long
 * enough for it to be due already, the next loop turn fires it. */
static int sleep_due(zx_sleep *s) {
  zx_exec *ex = s->ex;
  uint64_t tick = ex->turn_ns / NS_PER_MS;
  if (tick < ex->wheel.elapsed) tick = ex->wheel.elapsed;
  if (tick >= s->node.when) return 1;
  if (s->node.when - tick > 1) return 0;
  return zx_exec_now(ex) / NS_PER_MS >= s->node.when;
}

static zyntax_poll sleep_poll(zyntax_future *f, const zyntax_waker *waker) {
  zx_sleep *s = (zx_sleep *)f;
  /* Destroyed or being destroyed (a drop inside destroy, or a poll after
   * it from anywhere): ECLOSED, before the foreign check. */
  if (zx_leaf_refuse(f, s->ex)) return ZYNTAX_READY;
  if (sleep_due(s)) {
    f->result = 0;
    return ZYNTAX_READY;
  }
  zyntax_waker_store(&s->waker, waker);
  if (!zx_wheel_linked(&s->node)) {
    zx_count(&s->ex->stats.timers);
    zx_exec_timer_insert(s->ex, &s->node, s->node.when, s->ex->turn_ns);
  }
  return ZYNTAX_PENDING;
}

static void sleep_drop(zyntax_future *f) {
  zx_sleep *s = (zx_sleep *)f;
  zx_exec *ex = s->ex;
  /* After destroy the node is unlinked already: no wheel, no loop. */
  if (zx_wheel_linked(&s->node)) zx_exec_timer_remove(ex, &s->node);
  zyntax_waker_drop(&s->waker);
  zx_exec_free(ex, s, SLEEP_CLASS);
}

const zyntax_future_ops zyntax_executor_sleep_ops = ZYNTAX_FUTURE_OPS_INIT(sleep_poll, sleep_drop);

int zx_sleep_until(zyntax_backend_runtime *rt, uint64_t deadline_ns,
                   zyntax_future **out) {
  zx_exec *ex = (zx_exec *)rt;
  if (zx_exec_closed(ex)) return ZYNTAX_ECLOSED;
  zx_sleep *s = zx_exec_alloc(ex, SLEEP_CLASS, sizeof *s, alignof(zx_sleep));
  if (s == NULL) return ZYNTAX_ENOMEM;
  /* Rounded up without overflow, so UINT64_MAX stays the farthest tick. */
  uint64_t tick = deadline_ns / NS_PER_MS + (deadline_ns % NS_PER_MS != 0);
  *s = (zx_sleep){.base = {&zyntax_executor_sleep_ops, ZYNTAX_NOT_FINISHED},
                  .ex = ex,
                  .waker = ZYNTAX_WAKER_EMPTY,
                  .node = {.when = tick}};
  *out = &s->base;
  return 0;
}
