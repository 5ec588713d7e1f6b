#include "drive.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

typedef struct until {
  atomic_int *flag;
  int value;
  atomic_int *driving; /* may be NULL */
} until;

/* Root future: ready once *flag >= value; re-polls itself meanwhile. */
static zyntax_poll until_poll(void *state, const zyntax_waker *waker) {
  until *u = state;
  if (u->driving != NULL) atomic_store(u->driving, 1);
  if (atomic_load(u->flag) >= u->value) return ZYNTAX_READY;
  zyntax_waker_wake_by_ref(waker);
  return ZYNTAX_PENDING;
}

void drive_until_marking(zyntax_runtime *rt, atomic_int *flag, int value,
                         atomic_int *driving) {
  until u = {flag, value, driving};
  assert_int_equal(zyntax_runtime_block_on_future(rt, &u, until_poll), 0);
}

void drive_until(zyntax_runtime *rt, atomic_int *flag, int value) {
  drive_until_marking(rt, flag, value, NULL);
}
