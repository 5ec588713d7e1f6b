/* Sleep futures on ev_timer; the timing logic is executor/sleep.c. */
#include <stdlib.h>

#include "ev_backend.h"
#include "sleep.h"

typedef struct evb_sleep {
  zx_sleep core; /* first */
  ev_timer timer;
} evb_sleep;

static struct ev_loop *loop_of(zx_sleep *s) { return ((evb_runtime *)s->ex)->loop; }

static void on_timer(struct ev_loop *loop, ev_timer *timer, int revents) {
  (void)loop, (void)revents;
  zx_sleep_fired(timer->data);
}

static void arm(zx_sleep *s, uint64_t ms) {
  evb_sleep *e = (evb_sleep *)s;
  /* libev measures from its cached loop time: refresh it so the timer
   * covers the whole remaining time. */
  ev_now_update(loop_of(s));
  ev_timer_init(&e->timer, on_timer, (ev_tstamp)ms / 1e3, 0.);
  e->timer.data = e;
  ev_timer_start(loop_of(s), &e->timer);
}

/* After destroy the loop is gone (NULL): libev lets a watcher that was
 * still active at ev_loop_destroy simply be freed. */
static void release(zx_sleep *s) {
  evb_sleep *e = (evb_sleep *)s;
  if (s->armed && loop_of(s) != NULL) ev_timer_stop(loop_of(s), &e->timer);
  free(e);
}

static const zx_timer_ops timer_ops = {arm, release};

int evb_sleep_until(zyntax_backend_runtime *rt, uint64_t deadline_ns,
                    zyntax_future **out) {
  evb_sleep *e = malloc(sizeof *e);
  if (e == NULL) return ZYNTAX_ENOMEM;
  zx_sleep_init(&e->core, (zx_exec *)rt, &timer_ops, deadline_ns);
  *out = &e->core.base;
  return 0;
}
