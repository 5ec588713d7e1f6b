/* The conformance suite: every group, on the backend ZYNTAX_RUNTIME names.
 * `zyntax-conformance GROUP` runs one group. */
#include <stdio.h>
#include <string.h>

#include "conformance.h"

zyntax_runtime *new_runtime(void) {
  zyntax_runtime *rt = zyntax_runtime_create();
  if (rt == NULL) fail_msg("no runtime: %s", zyntax_last_error()->message);
  return rt;
}

void end_runtime(zyntax_runtime *rt) { assert_int_equal(zyntax_runtime_destroy(rt), 0); }

static zyntax_poll counted_ready(void *state, const zyntax_waker *waker) {
  (void)waker;
  atomic_fetch_add(&((counted *)state)->polls, 1);
  return ZYNTAX_READY;
}

static zyntax_poll counted_pending(void *state, const zyntax_waker *waker) {
  (void)waker;
  atomic_fetch_add(&((counted *)state)->polls, 1);
  return ZYNTAX_PENDING;
}

static void counted_drop(void *state) { atomic_fetch_add(&((counted *)state)->drops, 1); }

const zyntax_future_vtable counted_ready_vt = {counted_ready, counted_drop};
const zyntax_future_vtable counted_pending_vt = {counted_pending, counted_drop};

zyntax_poll await_future(await_slot *slot, zyntax_future *(*make)(void *arg), void *arg,
                         const zyntax_waker *waker) {
  if (slot->f == NULL) {
    slot->f = make(arg);
    if (slot->f == NULL) {
      slot->result = zyntax_last_error()->code;
      return ZYNTAX_READY;
    }
  }
  if (zyntax_future_poll(slot->f, waker) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  slot->result = zyntax_future_result(slot->f);
  zyntax_future_drop(slot->f);
  slot->f = NULL;
  return ZYNTAX_READY;
}

void await_slot_drop(await_slot *slot) {
  if (slot->f != NULL) zyntax_future_drop(slot->f);
  slot->f = NULL;
}

typedef struct group {
  const char *name;
  const struct CMUnitTest *tests;
  const size_t *count;
} group;

int main(int argc, char **argv) {
  const group groups[] = {
      {"basic", basic_tests, &basic_count},       {"wakers", waker_tests, &waker_count},
      {"timers", timer_tests, &timer_count},      {"io", io_tests, &io_count},
      {"blocking", blocking_tests, &blocking_count}, {"tasks", task_tests, &task_count},
      {"spawn", spawn_tests, &spawn_count},       {"errors", error_tests, &error_count},
      {"channels", channel_tests, &channel_count}, {"sync", sync_tests, &sync_count},
      {"streams", stream_tests, &stream_count},
      {"combinators", combinator_tests, &combinator_count},
      {"closures", closure_tests, &closure_count},
      {"lifetime", lifetime_tests, &lifetime_count}, {"edges", edge_tests, &edge_count},
  };
  int failed = 0, ran = 0;
  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
    if (argc > 1 && strcmp(argv[1], groups[i].name) != 0) continue;
    failed += _cmocka_run_group_tests(groups[i].name, groups[i].tests, *groups[i].count,
                                      NULL, NULL);
    ran++;
  }
  if (ran == 0) {
    fprintf(stderr, "no group named '%s'\n", argv[1]);
    return 2;
  }
  return failed;
}
