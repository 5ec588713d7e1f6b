/* The conformance suite: every group, on the backend ZYNTAX_RUNTIME names.
 * `zyntax-conformance GROUP` runs one group. */
#include <stdio.h>
#include <string.h>

#include "conformance.h"

zyntax_runtime *new_runtime(void) { return test_runtime(); }

void end_runtime(zyntax_runtime *rt) { assert_int_equal(zyntax_runtime_destroy(rt), 0); }

void reset_last_error(void) {
  zyntax_runtime_options o = ZYNTAX_RUNTIME_OPTIONS_INIT;
  o.backend = "no-such-backend";
  zyntax_runtime *rt;
  assert_int_equal(zyntax_runtime_create_with(&o, &rt), ZYNTAX_ENOBACKEND);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_ENOBACKEND);
}

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

zyntax_poll await_future(await_slot *slot, int (*make)(void *arg, zyntax_future **out),
                         void *arg, const zyntax_waker *waker) {
  if (slot->f == NULL) {
    slot->result = make(arg, &slot->f);
    if (slot->result != 0) return ZYNTAX_READY;
  }
  if (zyntax_future_poll(slot->f, waker, &slot->result) == ZYNTAX_PENDING)
    return ZYNTAX_PENDING;
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
#define CONFORMANCE_ENTRY_(name, tests, count) {#name, tests, &count},
      CONFORMANCE_GROUPS(CONFORMANCE_ENTRY_)
#undef CONFORMANCE_ENTRY_
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
