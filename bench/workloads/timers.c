/* timers: N tasks each sleeping (i mod S) + 1 ms (libuv's million_timers). */
#include "zy.h"

typedef struct sleeper {
  zy_latch *latch;
  zyntax_runtime *rt;
  zyntax_future *sleep;
  uint64_t ns;
} sleeper;

static zyntax_poll sleeper_poll(void *state, const zyntax_waker *waker) {
  sleeper *s = state;
  int rc;
  if (s->sleep == NULL && zyntax_sleep_future(s->rt, s->ns, &s->sleep) != 0) {
    zy_latch_fail(s->latch);
    return ZYNTAX_READY;
  }
  if (zyntax_future_poll(s->sleep, waker, &rc) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  zyntax_future_drop(s->sleep);
  s->sleep = NULL;
  zy_latch_count_down(s->latch, 1);
  return ZYNTAX_READY;
}

static void sleeper_drop(void *state) { zyntax_future_drop(((sleeper *)state)->sleep); }

static const zyntax_future_vtable sleeper_vtable = {sleeper_poll, sleeper_drop};

static uint64_t start_sleepers(zy_root *root) {
  const zb_sizes *sizes = root->ctx;
  for (uint32_t i = 0; i < sizes->timers; i++) {
    sleeper s = {&root->latch, root->rt, NULL,
                 ((uint64_t)(i % sizes->timer_spread_ms) + 1) * 1000000u};
    if (zy_spawn_detached(root->rt, &sleeper_vtable, &s, sizeof s) != 0)
      return sizes->timers - i;
  }
  return 0;
}

int zy_timers(const zb_sizes *sizes, zb_sample *out) {
  if (zy_run_root(zy_runtime(), sizes->timers, start_sleepers, (void *)sizes, out))
    return -1;
  out->ops = sizes->timers;
  return 0;
}
