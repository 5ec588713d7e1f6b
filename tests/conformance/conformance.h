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

#include "drive.h"

/* A runtime on the backend the environment names; fails the test if none. */
zyntax_runtime *new_runtime(void);

/* Destroys `rt` and asserts it worked. */
void end_runtime(zyntax_runtime *rt);

/* Drives `rt` until *flag >= value (a root future that re-polls itself). */

/* A future that is READY on its first poll; counts polls and drops. */
typedef struct counted {
  atomic_int polls;
  atomic_int drops;
} counted;
extern const zyntax_future_vtable counted_ready_vt;
extern const zyntax_future_vtable counted_pending_vt; /* never READY */

/* Awaits one runtime future inside a poll function: creates it on the
 * first call, returns READY (with *result set) when it is done. */
typedef struct await_slot {
  zyntax_future *f;
  int result;
} await_slot;
zyntax_poll await_future(await_slot *slot, zyntax_future *(*make)(void *arg), void *arg,
                         const zyntax_waker *waker);

/* Drops the future a cancelled poll function left in `slot` (if any). */
void await_slot_drop(await_slot *slot);

#define TEST_GROUP(name) const struct CMUnitTest name[]
#define GROUP_SIZE(tests) (sizeof(tests) / sizeof((tests)[0]))

/* The groups, one per file. */
extern const struct CMUnitTest basic_tests[], waker_tests[], timer_tests[], io_tests[],
    blocking_tests[], task_tests[], spawn_tests[], error_tests[], channel_tests[],
    sync_tests[], stream_tests[], combinator_tests[], closure_tests[], lifetime_tests[],
    edge_tests[];
extern const size_t basic_count, waker_count, timer_count, io_count, blocking_count,
    task_count, spawn_count, error_count, channel_count, sync_count, stream_count,
    combinator_count, closure_count, lifetime_count, edge_count;

#endif
