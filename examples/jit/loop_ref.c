/* The loop workload written by hand in C, state for state what gen_loop.c
 * emits: the baseline the generated poll function is timed against. */
#include "loop_ref.h"

enum { LOOP_HEAD, LOOP_AWAIT, LOOP_BODY, LOOP_DONE };

zyntax_poll zjit_loop_ref_poll(void *state, const zyntax_waker *waker) {
  zjit_loop_state *s = state;
  int polled; /* the sleep's result; the loop awaits it without a check */
  for (;;) {
    switch (s->state_id) {
    case LOOP_HEAD:
      if (s->i >= s->n) {
        s->state_id = LOOP_DONE;
        return ZYNTAX_READY;
      }
      if (s->delay_ns == 0) { /* yield: wake ourselves, come back to the body */
        zyntax_waker_wake_by_ref(waker);
        s->state_id = LOOP_BODY;
        return ZYNTAX_PENDING;
      }
      zyntax_sleep_future(zyntax_runtime_current(), s->delay_ns, &s->sleep);
      s->state_id = LOOP_AWAIT;
      break;
    case LOOP_AWAIT:
      if (zyntax_future_poll(s->sleep, waker, &polled) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
      zyntax_future_drop(s->sleep);
      s->sleep = NULL;
      s->state_id = LOOP_BODY;
      break;
    case LOOP_BODY:
      s->acc += s->i;
      s->i++;
      s->state_id = LOOP_HEAD;
      break;
    default:
      return ZYNTAX_READY;
    }
  }
}

void zjit_loop_ref_drop(void *state) {
  zjit_loop_state *s = state;
  zyntax_future_drop(s->sleep);
  s->sleep = NULL;
}
