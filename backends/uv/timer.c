/* The runtime's one uv_timer_t: the executor's timing wheel (executor/
 * wheel.c) decides when it fires; sleeps are wheel nodes (executor/sleep.c). */
#include "sleep.h"
#include "uv_backend.h"

static void on_timer(uv_timer_t *timer) { zx_exec_timer_fired(timer->data); }

int uvb_timer_init(uvb_runtime *rt) {
  rt->timer.data = &rt->ex;
  return uv_timer_init(&rt->loop, &rt->timer);
}

void uvb_timer_arm(zx_exec *ex, uint64_t ms) {
  uvb_runtime *rt = (uvb_runtime *)ex;
  uv_update_time(&rt->loop); /* the loop's cached time may be a turn old */
  uv_timer_start(&rt->timer, on_timer, ms, 0);
}

int uvb_sleep_until(zyntax_backend_runtime *rt, uint64_t deadline_ns,
                    zyntax_future **out) {
  return zx_sleep_until(rt, deadline_ns, out);
}
