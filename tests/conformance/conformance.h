/* Shared pieces of the conformance suite: it uses the public API only, and
 * runs unchanged on every backend (ZYNTAX_RUNTIME picks it). Poll functions
 * may run on other threads (tokio), so shared test data is atomic. */
#ifndef ZYNTAX_TESTS_CONFORMANCE_H
#define ZYNTAX_TESTS_CONFORMANCE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <zyntax/runtime.h>

#include "groups.h"
#include "support.h"

/* A runtime on the backend the environment names; fails the test if none. */
zyntax_runtime *new_runtime(void);

/* Destroys `rt` and asserts it worked. */
void end_runtime(zyntax_runtime *rt);

/* Leaves a last error that is not EINVAL, so the next check means
 * something. */
void reset_last_error(void);

/* Drives `rt` until *flag >= value (a root future that re-polls itself). */

/* A future that is READY on its first poll; counts polls and drops. */
typedef struct counted {
  atomic_int polls;
  atomic_int drops;
} counted;
extern const zyntax_future_vtable counted_ready_vt;
extern const zyntax_future_vtable counted_pending_vt; /* never READY */

/* Awaits one runtime future inside a poll function: creates it with
 * make(arg, &f) on the first call, returns READY when it is done, with
 * slot->result set to its result (or to make's failure code). */
typedef struct await_slot {
  zyntax_future *f;
  int result;
} await_slot;
zyntax_poll await_future(await_slot *slot, int (*make)(void *arg, zyntax_future **out),
                         void *arg, const zyntax_waker *waker);

/* Drops the future a cancelled poll function left in `slot` (if any). */
void await_slot_drop(await_slot *slot);

#define TEST_GROUP(name) const struct CMUnitTest name[]
#define GROUP_SIZE(tests) (sizeof(tests) / sizeof((tests)[0]))

/* The groups, one per file, listed in groups.h. */
#define CONFORMANCE_DECLARE_(name, tests, count) \
  extern const struct CMUnitTest tests[];        \
  extern const size_t count;
CONFORMANCE_GROUPS(CONFORMANCE_DECLARE_)
#undef CONFORMANCE_DECLARE_

#endif
