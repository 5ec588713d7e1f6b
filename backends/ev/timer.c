/* The runtime's one ev_timer: the executor's timing wheel (executor/
 * wheel.c) decides when it fires; sleeps are wheel nodes (executor/sleep.c). */
#include "ev_backend.h"
#include "sleep.h"

static void on_timer(struct ev_loop *loop, ev_timer *timer, int revents) {
  (void)loop, (void)revents;
  zx_exec_timer_fired(timer->data);
}

void evb_timer_init(evb_runtime *rt) {
  ev_timer_init(&rt->timer, on_timer, 0., 0.);
  rt->timer.data = &rt->ex;
}

void evb_timer_arm(zx_exec *ex, uint64_t ms) {
  evb_runtime *rt = (evb_runtime *)ex;
  /* libev measures from its cached loop time: refresh it first. */
  ev_now_update(rt->loop);
  ev_timer_stop(rt->loop, &rt->timer);
  ev_timer_set(&rt->timer, (ev_tstamp)ms / 1e3, 0.);
  ev_timer_start(rt->loop, &rt->timer);
}

int evb_sleep_until(zyntax_backend_runtime *rt, uint64_t deadline_ns,
                    zyntax_future **out) {
  return zx_sleep_until(rt, deadline_ns, out);
}
