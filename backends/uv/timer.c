/* Sleep futures on uv_timer_t; the timing logic is executor/sleep.c. */
#include <stdlib.h>

#include "sleep.h"
#include "uv_backend.h"

typedef struct uvb_sleep {
  zx_sleep core; /* first */
  uv_timer_t timer;
} uvb_sleep;

static void on_timer(uv_timer_t *timer) { zx_sleep_fired(timer->data); }

static void arm(zx_sleep *s, uint64_t ms) {
  uvb_sleep *u = (uvb_sleep *)s;
  uv_loop_t *loop = &((uvb_runtime *)s->ex)->loop;
  if (!s->armed) {
    uv_timer_init(loop, &u->timer);
    u->timer.data = u;
  }
  uv_update_time(loop); /* the loop's cached time may be a turn old */
  uv_timer_start(&u->timer, on_timer, ms, 0);
}

static void free_on_close(uv_handle_t *handle) { free(handle->data); }

/* After destroy the loop is closed and so is the timer (uvb_destroy). */
static void release(zx_sleep *s) {
  uvb_sleep *u = (uvb_sleep *)s;
  if (s->armed && !((uvb_runtime *)s->ex)->loop_closed)
    uv_close((uv_handle_t *)&u->timer, free_on_close);
  else
    free(u);
}

static const zx_timer_ops timer_ops = {arm, release};

int uvb_sleep_until(zyntax_backend_runtime *rt, uint64_t deadline_ns,
                    zyntax_future **out) {
  uvb_sleep *u = malloc(sizeof *u);
  if (u == NULL) return ZYNTAX_ENOMEM;
  zx_sleep_init(&u->core, (zx_exec *)rt, &timer_ops, deadline_ns);
  *out = &u->core.base;
  return 0;
}
